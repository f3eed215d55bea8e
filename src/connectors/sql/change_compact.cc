#include "connectors/sql/change_compact.h"

#include <cstring>
#include <string>
#include <unordered_map>

namespace sluice::sql {

void KeyBytes(const RecordBatch& batch, const std::vector<int>& key_fields, int64_t r,
              std::string& out) {
  out.clear();
  for (int f : key_fields) {
    const Column& col = batch.column(static_cast<size_t>(f));
    const DataType& t = col.type();
    if (t.IsVarWidth()) {
      std::string_view v = col.BytesAt(r);
      uint32_t n = static_cast<uint32_t>(v.size());
      out.append(reinterpret_cast<const char*>(&n), 4);
      out.append(v);
      continue;
    }
    switch (t.id) {
      case TypeId::kBool:
        out.push_back(col.BoolAt(r) ? 1 : 0);
        break;
      case TypeId::kFloat64: {
        double d = col.Float64At(r);
        if (d == 0) d = 0;  // -0.0 and 0.0 are the same key
        out.append(reinterpret_cast<const char*>(&d), 8);
        break;
      }
      case TypeId::kDate: {
        int32_t v = col.DateAt(r);
        out.append(reinterpret_cast<const char*>(&v), 4);
        break;
      }
      case TypeId::kDecimal: {
        int128_t v = col.DecimalAt(r);
        out.append(reinterpret_cast<const char*>(&v), 16);
        break;
      }
      default: {
        int64_t v = col.Int64At(r);
        out.append(reinterpret_cast<const char*>(&v), 8);
        break;
      }
    }
  }
}

namespace {

struct Slot {
  int64_t last = -1;
  char op = 'c';
  bool had_delete = false;
  std::vector<int64_t> src;  // replicate: the batch row each column's value comes from, -1: none
};

bool AnyUnchanged(const RecordBatch& batch) {
  for (const auto& marks : batch.unchanged) {
    for (uint8_t m : marks) {
      if (m) return true;
    }
  }
  return false;
}

void Apply(Slot& s, const RecordBatch& batch, int64_t r, size_t ncols) {
  const char op = batch.op(r);
  if (op == 'd') {
    s.src.assign(ncols, r);  // the key columns are what a delete needs
    s.op = 'd';
    s.had_delete = true;
  } else {
    if (s.op == 'd' || s.src.empty()) s.src.assign(ncols, -1);  // a fresh row after a delete
    for (size_t c = 0; c < ncols; ++c) {
      if (!batch.is_unchanged(c, r)) s.src[c] = r;
    }
    bool missing = false;
    for (int64_t v : s.src) missing |= v < 0;
    s.op = s.had_delete ? 'R' : missing ? 'p' : 'c';
  }
  s.last = r;
}

ColumnPtr OneCharColumn(const std::vector<char>& ops) {
  ColumnBuilder b(DataType::String());
  for (char c : ops) b.AppendBytes(std::string_view(&c, 1));
  return b.Finish();
}

}  // namespace

CompactedRows CompactByKey(const RecordBatch& batch, const std::vector<int>& key_fields,
                           bool apply_ops) {
  CompactedRows out;
  const int64_t n = batch.num_rows();
  const size_t ncols = batch.schema()->size();
  std::unordered_map<std::string, int32_t> slot_of;
  slot_of.reserve(static_cast<size_t>(n));
  std::vector<Slot> slots;
  std::vector<int32_t> slot_of_row(static_cast<size_t>(n), -1);
  std::string key;
  for (int64_t r = 0; r < n; ++r) {
    bool null_key = false;
    for (int f : key_fields) null_key |= batch.column(static_cast<size_t>(f)).IsNull(r);
    if (null_key) {
      out.null_key_rows.push_back(r);
      continue;
    }
    KeyBytes(batch, key_fields, r, key);
    auto [it, fresh] = slot_of.try_emplace(key, static_cast<int32_t>(slots.size()));
    if (fresh) slots.emplace_back();
    Slot& s = slots[static_cast<size_t>(it->second)];
    if (apply_ops) {
      Apply(s, batch, r, ncols);
    } else {
      s.last = r;
    }
    slot_of_row[static_cast<size_t>(r)] = it->second;
  }

  std::vector<char> ops;
  ops.reserve(slots.size());
  const bool as_is = static_cast<int64_t>(slots.size()) == n && !AnyUnchanged(batch);
  if (as_is) {
    // Every key once and every value sent: the batch's own columns go out unchanged.
    for (size_t c = 0; c < ncols; ++c) out.columns.push_back(&batch.column(c));
    for (int64_t r = 0; r < n; ++r) {
      ops.push_back(apply_ops ? slots[static_cast<size_t>(slot_of_row[r])].op : 'c');
      out.batch_row.push_back(r);
    }
  } else {
    std::vector<ColumnBuilder> builders;
    for (size_t c = 0; c < ncols; ++c) builders.emplace_back(batch.schema()->field(c).type);
    ColumnBuilder unchanged(DataType::String());
    std::string mask(ncols, '0');
    for (int64_t r = 0; r < n; ++r) {
      int32_t si = slot_of_row[static_cast<size_t>(r)];
      if (si < 0 || slots[static_cast<size_t>(si)].last != r) continue;  // superseded later
      const Slot& s = slots[static_cast<size_t>(si)];
      for (size_t c = 0; c < ncols; ++c) {
        int64_t src = apply_ops ? s.src[c] : r;
        if (src >= 0) {
          builders[c].AppendFrom(batch.column(c), src);
        } else {
          builders[c].AppendNull();
        }
      }
      const char op = apply_ops ? s.op : 'c';
      if (op == 'p') {
        for (size_t c = 0; c < ncols; ++c) mask[c] = s.src[c] < 0 ? '1' : '0';
        unchanged.AppendBytes(mask);
      } else {
        unchanged.AppendNull();
      }
      ops.push_back(op);
      out.batch_row.push_back(r);
    }
    for (auto& b : builders) {
      out.owned.push_back(b.Finish());
      out.columns.push_back(out.owned.back().get());
    }
    out.unchanged = unchanged.Finish();
  }
  if (!out.unchanged) {
    ColumnBuilder none(DataType::String());
    for (size_t i = 0; i < ops.size(); ++i) none.AppendNull();
    out.unchanged = none.Finish();
  }
  for (char op : ops) {
    out.has_deletes |= op == 'd' || op == 'R';
    out.has_partial |= op == 'p';
  }
  out.num_rows = static_cast<int64_t>(ops.size());
  out.ops = OneCharColumn(ops);
  return out;
}

}  // namespace sluice::sql
