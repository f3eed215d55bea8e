// Vectorised evaluation: every node is evaluated over the whole batch into a Vec (values plus a
// byte-per-row validity mask), so the per-row work is a tight loop over plain arrays. A constant
// is a one-row "scalar" Vec that kernels broadcast; an all-NULL result is kept as a NULL scalar.

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>

#include "core/values.h"
#include "quality/expr/expr.h"
#include "quality/expr/internal/ast.h"
#include "quality/expr/internal/like.h"

namespace sluice {
namespace expr_internal {
namespace {

template <typename T>
inline T Ld(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

struct Vec {
  VType type;
  bool scalar = false;
  int64_t n = 0;                   // rows held: 1 for a scalar
  const uint8_t* data = nullptr;   // values; std::string_view entries for strings
  const uint8_t* valid = nullptr;  // one byte per row, 1 = valid; nullptr when all are valid
  std::unique_ptr<uint8_t[]> own;  // owned values (when `data` is not a column's buffer)
  std::vector<uint8_t> own_valid;
  std::vector<std::shared_ptr<const std::string>> heaps;  // keep string bytes alive

  Vec() = default;
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;
  Vec(Vec&&) = default;
  Vec& operator=(Vec&&) = default;

  bool NullScalar() const { return scalar && valid != nullptr && valid[0] == 0; }
  // Row i of a Vec that is broadcast when scalar.
  int64_t mask() const { return scalar ? 0 : ~int64_t{0}; }
  bool Valid(int64_t i) const { return valid == nullptr || valid[i]; }
  template <typename T>
  T* Alloc(int64_t rows) {
    // Left uninitialised: every kernel writes each row. The 16 spare zero bytes make row 0 of
    // an empty or NULL Vec readable as any type.
    size_t bytes = static_cast<size_t>(rows) * sizeof(T);
    own.reset(new uint8_t[bytes + 16]);
    std::memset(own.get() + bytes, 0, 16);
    if (rows <= 1) std::memset(own.get(), 0, bytes);
    data = own.get();
    return reinterpret_cast<T*>(own.get());
  }
  uint8_t* AllocValid(int64_t rows) {
    own_valid.assign(static_cast<size_t>(rows), 1);
    valid = own_valid.data();
    return own_valid.data();
  }
  void KeepHeaps(const Vec& o) { heaps.insert(heaps.end(), o.heaps.begin(), o.heaps.end()); }
};

Vec NullVec(VType t) {
  Vec v;
  v.type = t;
  v.scalar = true;
  v.n = 1;
  v.Alloc<int128_t>(1);
  v.own_valid.assign(1, 0);
  v.valid = v.own_valid.data();
  return v;
}

Vec NewVec(VType t, bool scalar, int64_t rows) {
  Vec v;
  v.type = t;
  v.scalar = scalar;
  v.n = scalar ? 1 : rows;
  return v;
}

template <typename F>
decltype(auto) Dispatch(Kind k, F&& f) {
  switch (k) {
    case Kind::kInt64:
    case Kind::kTimestamp:
    case Kind::kTime: return f(int64_t{});
    case Kind::kFloat64: return f(double{});
    case Kind::kDecimal: return f(int128_t{});
    case Kind::kDate: return f(int32_t{});
    case Kind::kString: return f(std::string_view{});
    case Kind::kNull:
    case Kind::kBool: break;
  }
  return f(uint8_t{});
}

// Validity of a row-wise result of `a` and `b` (neither a NULL scalar): the AND of both masks.
void MergeValid(const Vec& a, const Vec& b, Vec* out) {
  const uint8_t* va = a.scalar ? nullptr : a.valid;
  const uint8_t* vb = b.scalar ? nullptr : b.valid;
  if (va == nullptr && vb == nullptr) return;
  uint8_t* o = out->AllocValid(out->n);
  if (va != nullptr && vb != nullptr) {
    for (int64_t i = 0; i < out->n; ++i) o[i] = va[i] & vb[i];
  } else {
    std::memcpy(o, va != nullptr ? va : vb, static_cast<size_t>(out->n));
  }
}

void CopyValid(const Vec& a, Vec* out) {
  if (a.valid == nullptr) return;
  std::memcpy(out->AllocValid(out->n), a.valid, static_cast<size_t>(out->n));
}

// Clears validity where ok[i] == 0 (division by zero, overflow).
void ApplyOk(const std::vector<uint8_t>& ok, bool all_ok, Vec* out) {
  if (all_ok) return;
  if (out->valid == nullptr) out->AllocValid(out->n);
  for (int64_t i = 0; i < out->n; ++i) out->own_valid[i] &= ok[i];
}

// ---- comparisons -----------------------------------------------------------------------------

template <typename T, typename Cmp>
void CmpLoop(const Vec& l, const Vec& r, int64_t n, uint8_t* out, Cmp cmp) {
  const uint8_t* lp = l.data;
  const uint8_t* rp = r.data;
  if (!l.scalar && r.scalar) {
    const T b = Ld<T>(rp, 0);
    for (int64_t i = 0; i < n; ++i) out[i] = cmp(Ld<T>(lp, i), b);
  } else if (l.scalar && !r.scalar) {
    const T a = Ld<T>(lp, 0);
    for (int64_t i = 0; i < n; ++i) out[i] = cmp(a, Ld<T>(rp, i));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = cmp(Ld<T>(lp, i), Ld<T>(rp, i));
  }
}

Vec Compare(Op op, const Vec& l, const Vec& r, int64_t rows) {
  VType bt{Kind::kBool};
  if (l.NullScalar() || r.NullScalar()) return NullVec(bt);
  Vec out = NewVec(bt, l.scalar && r.scalar, rows);
  uint8_t* o = out.Alloc<uint8_t>(out.n);
  Dispatch(l.type.kind, [&](auto tag) {
    using T = decltype(tag);
    switch (op) {
      case Op::kEq: CmpLoop<T>(l, r, out.n, o, std::equal_to<>{}); break;
      case Op::kNe: CmpLoop<T>(l, r, out.n, o, std::not_equal_to<>{}); break;
      case Op::kLt: CmpLoop<T>(l, r, out.n, o, std::less<>{}); break;
      case Op::kLe: CmpLoop<T>(l, r, out.n, o, std::less_equal<>{}); break;
      case Op::kGt: CmpLoop<T>(l, r, out.n, o, std::greater<>{}); break;
      default: CmpLoop<T>(l, r, out.n, o, std::greater_equal<>{}); break;
    }
  });
  MergeValid(l, r, &out);
  return out;
}

// ---- three-valued logic ----------------------------------------------------------------------

Vec Logic(Op op, const Vec& l, const Vec& r, int64_t rows) {
  VType bt{Kind::kBool};
  Vec out = NewVec(bt, l.scalar && r.scalar, rows);
  uint8_t* o = out.Alloc<uint8_t>(out.n);
  const int64_t lm = l.mask(), rm = r.mask();
  if (l.valid == nullptr && r.valid == nullptr && !l.scalar && !r.scalar) {
    const uint8_t* a = l.data;
    const uint8_t* b = r.data;
    if (op == Op::kAnd) {
      for (int64_t i = 0; i < out.n; ++i) o[i] = a[i] & b[i];
    } else {
      for (int64_t i = 0; i < out.n; ++i) o[i] = a[i] | b[i];
    }
    return out;
  }
  if (l.valid == nullptr && r.valid == nullptr) {
    if (op == Op::kAnd) {
      for (int64_t i = 0; i < out.n; ++i) o[i] = l.data[i & lm] & r.data[i & rm];
    } else {
      for (int64_t i = 0; i < out.n; ++i) o[i] = l.data[i & lm] | r.data[i & rm];
    }
    return out;
  }
  static const uint8_t kOne = 1;
  const uint8_t* lv = l.valid != nullptr ? l.valid : &kOne;
  const uint8_t* rv = r.valid != nullptr ? r.valid : &kOne;
  const int64_t lvm = l.valid != nullptr ? lm : 0, rvm = r.valid != nullptr ? rm : 0;
  uint8_t* v = out.AllocValid(out.n);
  for (int64_t i = 0; i < out.n; ++i) {
    uint8_t a = l.data[i & lm] & 1, av = lv[i & lvm];
    uint8_t b = r.data[i & rm] & 1, bv = rv[i & rvm];
    uint8_t t, f;
    if (op == Op::kAnd) {
      t = a & av & b & bv;
      f = (av & (a ^ 1)) | (bv & (b ^ 1));
    } else {
      t = (a & av) | (b & bv);
      f = av & (a ^ 1) & bv & (b ^ 1);
    }
    o[i] = t;
    v[i] = t | f;
  }
  return out;
}

Vec Not(const Vec& a) {
  Vec out = NewVec({Kind::kBool}, a.scalar, a.n);
  uint8_t* o = out.Alloc<uint8_t>(out.n);
  for (int64_t i = 0; i < out.n; ++i) o[i] = a.data[i] ^ 1;
  CopyValid(a, &out);
  return out;
}

// ---- arithmetic ------------------------------------------------------------------------------

// Applies f(a, b, &res) -> ok row-wise; rows where f fails become NULL.
template <typename A, typename B, typename R, typename F>
Vec ArithLoop(const Vec& l, const Vec& r, VType rt, int64_t rows, F f) {
  Vec out = NewVec(rt, l.scalar && r.scalar, rows);
  R* o = out.Alloc<R>(out.n);
  std::vector<uint8_t> ok(static_cast<size_t>(out.n));
  const int64_t lm = l.mask(), rm = r.mask();
  uint8_t all = 1;
  for (int64_t i = 0; i < out.n; ++i) {
    R res{};
    uint8_t good = f(Ld<A>(l.data, i & lm), Ld<B>(r.data, i & rm), &res) ? 1 : 0;
    std::memcpy(o + i, &res, sizeof(R));
    ok[static_cast<size_t>(i)] = good;
    all &= good;
  }
  MergeValid(l, r, &out);
  ApplyOk(ok, all != 0, &out);
  return out;
}

template <typename T>
Vec IntegerArith(Op op, const Vec& l, const Vec& r, VType rt, int64_t rows) {
  switch (op) {
    case Op::kAdd:
      return ArithLoop<T, T, T>(l, r, rt, rows, [](T a, T b, T* o) { return !__builtin_add_overflow(a, b, o); });
    case Op::kSub:
      return ArithLoop<T, T, T>(l, r, rt, rows, [](T a, T b, T* o) { return !__builtin_sub_overflow(a, b, o); });
    case Op::kMul:
      return ArithLoop<T, T, T>(l, r, rt, rows, [](T a, T b, T* o) { return !__builtin_mul_overflow(a, b, o); });
    default:
      return ArithLoop<T, T, T>(l, r, rt, rows, [](T a, T b, T* o) {
        if (b == 0) return false;
        *o = b == -1 ? 0 : a % b;
        return true;
      });
  }
}

Vec Arith(Op op, const Vec& l, const Vec& r, VType rt, int64_t rows) {
  if (l.NullScalar() || r.NullScalar() || rt.kind == Kind::kNull) return NullVec(rt);
  Kind lk = l.type.kind, rk = r.type.kind;
  if (lk == Kind::kDate && rk == Kind::kDate) {
    return ArithLoop<int32_t, int32_t, int64_t>(l, r, rt, rows, [](int32_t a, int32_t b, int64_t* o) {
      *o = int64_t{a} - b;
      return true;
    });
  }
  if (lk == Kind::kDate) {
    bool sub = op == Op::kSub;
    return ArithLoop<int32_t, int64_t, int32_t>(l, r, rt, rows, [sub](int32_t a, int64_t b, int32_t* o) {
      int64_t v = sub ? int64_t{a} - b : int64_t{a} + b;
      if (v < INT32_MIN || v > INT32_MAX) return false;
      *o = static_cast<int32_t>(v);
      return true;
    });
  }
  switch (rt.kind) {
    case Kind::kInt64: return IntegerArith<int64_t>(op, l, r, rt, rows);
    case Kind::kDecimal: return IntegerArith<int128_t>(op, l, r, rt, rows);  // same scale, or a product
    default: break;
  }
  switch (op) {
    case Op::kAdd: return ArithLoop<double, double, double>(l, r, rt, rows, [](double a, double b, double* o) { *o = a + b; return true; });
    case Op::kSub: return ArithLoop<double, double, double>(l, r, rt, rows, [](double a, double b, double* o) { *o = a - b; return true; });
    case Op::kMul: return ArithLoop<double, double, double>(l, r, rt, rows, [](double a, double b, double* o) { *o = a * b; return true; });
    case Op::kDiv:
      return ArithLoop<double, double, double>(l, r, rt, rows, [](double a, double b, double* o) {
        if (b == 0) return false;
        *o = a / b;
        return true;
      });
    default:
      return ArithLoop<double, double, double>(l, r, rt, rows, [](double a, double b, double* o) {
        if (b == 0) return false;
        *o = std::fmod(a, b);
        return true;
      });
  }
}

Vec Negate(const Vec& a) {
  if (a.NullScalar()) return NullVec(a.type);
  Vec zero = NewVec(a.type, true, 1);
  zero.Alloc<int128_t>(1);  // zero of every numeric type
  return Arith(Op::kSub, zero, a, a.type, a.n);
}

// ---- casts -----------------------------------------------------------------------------------


template <typename A, typename R, typename F>
Vec MapLoop(const Vec& a, VType rt, F f) {
  Vec out = NewVec(rt, a.scalar, a.n);
  R* o = out.Alloc<R>(out.n);
  for (int64_t i = 0; i < out.n; ++i) {
    R v = f(Ld<A>(a.data, i));
    std::memcpy(o + i, &v, sizeof(R));
  }
  CopyValid(a, &out);
  return out;
}

Vec Cast(const Vec& a, VType to) {
  if (a.NullScalar() || a.type.kind == Kind::kNull) return NullVec(to);
  Kind k = a.type.kind;
  switch (to.kind) {
    case Kind::kFloat64:
      if (k == Kind::kInt64) return MapLoop<int64_t, double>(a, to, [](int64_t v) { return static_cast<double>(v); });
      {
        double div = static_cast<double>(Pow10(a.type.scale));
        return MapLoop<int128_t, double>(a, to, [div](int128_t v) { return static_cast<double>(v) / div; });
      }
    case Kind::kDecimal: {
      int128_t mul = Pow10(to.scale - (k == Kind::kDecimal ? a.type.scale : 0));
      if (k == Kind::kInt64) return MapLoop<int64_t, int128_t>(a, to, [mul](int64_t v) { return int128_t{v} * mul; });
      return MapLoop<int128_t, int128_t>(a, to, [mul](int128_t v) { return v * mul; });
    }
    case Kind::kTimestamp:
      return MapLoop<int32_t, int64_t>(a, to, [](int32_t d) { return int64_t{d} * 86400000000LL; });
    default: break;
  }
  return NullVec(to);  // the binder makes no other casts
}

// ---- strings ---------------------------------------------------------------------------------

// Builds a string Vec from row-wise transforms that append to one heap.
template <typename F>
Vec StringMap(const Vec& a, F f) {
  Vec out = NewVec({Kind::kString}, a.scalar, a.n);
  auto heap = std::make_shared<std::string>();
  std::vector<size_t> ends(static_cast<size_t>(a.n));
  for (int64_t i = 0; i < a.n; ++i) {
    if (a.Valid(i)) f(Ld<std::string_view>(a.data, i), *heap);
    ends[static_cast<size_t>(i)] = heap->size();
  }
  auto* o = out.Alloc<std::string_view>(out.n);
  size_t begin = 0;
  for (int64_t i = 0; i < a.n; ++i) {
    o[i] = std::string_view(heap->data() + begin, ends[static_cast<size_t>(i)] - begin);
    begin = ends[static_cast<size_t>(i)];
  }
  out.heaps.push_back(std::move(heap));
  CopyValid(a, &out);
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

Vec Trim(const Vec& a, bool left, bool right) {
  Vec out = MapLoop<std::string_view, std::string_view>(a, {Kind::kString}, [&](std::string_view s) {
    size_t b = 0, e = s.size();
    if (left) while (b < e && IsSpace(s[b])) ++b;
    if (right) while (e > b && IsSpace(s[e - 1])) --e;
    return s.substr(b, e - b);
  });
  out.KeepHeaps(a);
  return out;
}

int64_t Utf8Length(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Vec StringPredicate(Func f, const Vec& l, const Vec& r, int64_t rows) {
  VType bt{Kind::kBool};
  if (l.NullScalar() || r.NullScalar()) return NullVec(bt);
  return ArithLoop<std::string_view, std::string_view, uint8_t>(
      l, r, bt, rows, [f](std::string_view a, std::string_view b, uint8_t* o) {
        switch (f) {
          case Func::kStartsWith: *o = a.substr(0, b.size()) == b; break;
          case Func::kEndsWith: *o = a.size() >= b.size() && a.substr(a.size() - b.size()) == b; break;
          default: *o = a.find(b) != std::string_view::npos; break;
        }
        return true;
      });
}

Vec Concat(const Vec& l, const Vec& r, int64_t rows) {
  VType st{Kind::kString};
  if (l.NullScalar() || r.NullScalar()) return NullVec(st);
  Vec out = NewVec(st, l.scalar && r.scalar, rows);
  auto heap = std::make_shared<std::string>();
  const int64_t lm = l.mask(), rm = r.mask();
  std::vector<size_t> ends(static_cast<size_t>(out.n));
  for (int64_t i = 0; i < out.n; ++i) {
    *heap += Ld<std::string_view>(l.data, i & lm);
    *heap += Ld<std::string_view>(r.data, i & rm);
    ends[static_cast<size_t>(i)] = heap->size();
  }
  auto* o = out.Alloc<std::string_view>(out.n);
  size_t begin = 0;
  for (int64_t i = 0; i < out.n; ++i) {
    o[i] = std::string_view(heap->data() + begin, ends[static_cast<size_t>(i)] - begin);
    begin = ends[static_cast<size_t>(i)];
  }
  out.heaps.push_back(std::move(heap));
  MergeValid(l, r, &out);
  return out;
}

// ---- selection (coalesce, CASE) --------------------------------------------------------------

// out[i] = srcs[pick[i]][i], NULL where pick[i] < 0.
Vec Gather(VType t, const std::vector<const Vec*>& srcs, const std::vector<int>& pick, bool scalar,
           int64_t rows) {
  Vec out = NewVec(t, scalar, rows);
  uint8_t* v = out.AllocValid(out.n);
  Dispatch(t.kind, [&](auto tag) {
    using T = decltype(tag);
    T* o = out.Alloc<T>(out.n);
    for (int64_t i = 0; i < out.n; ++i) {
      int k = pick[static_cast<size_t>(i)];
      if (k < 0) {  // still a readable value: kernels read every row, valid or not
        v[i] = 0;
        const T zero{};
        std::memcpy(o + i, &zero, sizeof(T));
        continue;
      }
      const Vec& s = *srcs[static_cast<size_t>(k)];
      T x = Ld<T>(s.data, i & s.mask());
      std::memcpy(o + i, &x, sizeof(T));
    }
  });
  for (const Vec* s : srcs) out.KeepHeaps(*s);
  return out;
}

// ---- the tree walk ---------------------------------------------------------------------------

struct Ctx {
  const RecordBatch& batch;
  int64_t rows;
  int64_t now_micros;
};

Vec FromConst(const BoundNode& n) {
  const Literal& lit = n.value;
  if (lit.type.kind == Kind::kNull) return NullVec(n.type);
  Vec v = NewVec(n.type, true, 1);
  switch (n.type.kind) {
    case Kind::kBool: *v.Alloc<uint8_t>(1) = lit.b ? 1 : 0; break;
    case Kind::kInt64:
    case Kind::kTimestamp:
    case Kind::kTime: *v.Alloc<int64_t>(1) = lit.i; break;
    case Kind::kFloat64: *v.Alloc<double>(1) = lit.f; break;
    case Kind::kDecimal: {
      int128_t d = lit.d;
      std::memcpy(v.Alloc<int128_t>(1), &d, sizeof(d));
      break;
    }
    case Kind::kDate: *v.Alloc<int32_t>(1) = static_cast<int32_t>(lit.i); break;
    case Kind::kString: {
      auto s = std::make_shared<std::string>(lit.s);
      *v.Alloc<std::string_view>(1) = *s;
      v.heaps.push_back(std::move(s));
      break;
    }
    case Kind::kNull: break;
  }
  return v;
}

Vec FromColumn(const Column& c, VType t, int64_t rows) {
  Vec v = NewVec(t, false, rows);
  if (c.null_count() > 0) {
    uint8_t* o = v.AllocValid(rows);
    const uint8_t* bm = c.validity().data();
    for (int64_t i = 0; i < rows; ++i) o[i] = (bm[i >> 3] >> (i & 7)) & 1;
  }
  switch (t.kind) {
    case Kind::kBool: {
      uint8_t* o = v.Alloc<uint8_t>(rows);
      const uint8_t* bits = c.values().data();
      for (int64_t i = 0; i < rows; ++i) o[i] = (bits[i >> 3] >> (i & 7)) & 1;
      break;
    }
    case Kind::kString: {
      auto* o = v.Alloc<std::string_view>(rows);
      const char* base = reinterpret_cast<const char*>(c.values().data());
      const int32_t* off = c.offsets().data();
      for (int64_t i = 0; i < rows; ++i) {
        o[i] = std::string_view(base + off[i], static_cast<size_t>(off[i + 1] - off[i]));
      }
      break;
    }
    default: v.data = c.values().data(); break;
  }
  return v;
}

Vec Eval(const BoundNode& n, Ctx& ctx);

// x IN (c1, c2 ...) with non-NULL constants: one pass over x.
template <typename T>
Vec InConstants(const Vec& x, const std::vector<Vec>& items, bool negated) {
  std::vector<T> set;
  for (const Vec& it : items) set.push_back(Ld<T>(it.data, 0));
  Vec out = NewVec({Kind::kBool}, x.scalar, x.n);
  uint8_t* o = out.Alloc<uint8_t>(out.n);
  const uint8_t want = negated ? 0 : 1;
  for (int64_t i = 0; i < out.n; ++i) {
    T v = Ld<T>(x.data, i);
    uint8_t found = 0;
    for (const T& c : set) found |= v == c;
    o[i] = found == want;
  }
  CopyValid(x, &out);
  return out;
}

Vec EvalIn(const BoundNode& n, Ctx& ctx) {
  Vec x = Eval(n.args[0], ctx);
  bool constants = !x.NullScalar();
  for (size_t i = 1; i < n.args.size(); ++i) {
    constants &= n.args[i].kind == BoundKind::kConst && n.args[i].value.type.kind != Kind::kNull;
  }
  if (constants) {
    std::vector<Vec> items;
    for (size_t i = 1; i < n.args.size(); ++i) items.push_back(FromConst(n.args[i]));
    return Dispatch(x.type.kind, [&](auto tag) { return InConstants<decltype(tag)>(x, items, n.negated); });
  }
  // x IN (a, b) is x = a OR x = b, with the same NULL rules.
  Vec acc = NewVec({Kind::kBool}, true, 1);
  acc.Alloc<uint8_t>(1);
  for (size_t i = 1; i < n.args.size(); ++i) {
    Vec item = Eval(n.args[i], ctx);
    Vec eq = Compare(Op::kEq, x, item, ctx.rows);
    acc = Logic(Op::kOr, acc, eq, ctx.rows);
  }
  if (n.negated) return Not(acc);
  return acc;
}

Vec EvalLike(const BoundNode& n, Ctx& ctx) {
  Vec s = Eval(n.args[0], ctx);
  Vec p = Eval(n.args[1], ctx);
  VType bt{Kind::kBool};
  if (s.NullScalar() || p.NullScalar()) return NullVec(bt);
  Vec out = NewVec(bt, s.scalar && p.scalar, ctx.rows);
  uint8_t* o = out.Alloc<uint8_t>(out.n);
  MergeValid(s, p, &out);
  if (n.like != nullptr) {
    const LikePattern& pat = *n.like;
    const std::string_view lit = pat.literal;
    const int64_t sm = s.mask();
    auto each = [&](auto match) {
      for (int64_t i = 0; i < out.n; ++i) o[i] = match(Ld<std::string_view>(s.data, i & sm));
    };
    switch (pat.shape) {
      case LikePattern::Shape::kExact: each([lit](std::string_view v) { return v == lit; }); break;
      case LikePattern::Shape::kPrefix:
        each([lit](std::string_view v) {
          return v.size() >= lit.size() && std::memcmp(v.data(), lit.data(), lit.size()) == 0;
        });
        break;
      case LikePattern::Shape::kSuffix:
        each([lit](std::string_view v) {
          return v.size() >= lit.size() &&
                 std::memcmp(v.data() + v.size() - lit.size(), lit.data(), lit.size()) == 0;
        });
        break;
      default: each([&pat](std::string_view v) { return pat.Matches(v); }); break;
    }
  } else {
    // A pattern that varies by row: compile each distinct one as it comes.
    LikePattern pat;
    std::string last;
    bool have = false, last_ok = false;
    const int64_t sm = s.mask(), pm = p.mask();
    for (int64_t i = 0; i < out.n; ++i) {
      std::string_view ps = Ld<std::string_view>(p.data, i & pm);
      if (!have || ps != last) {
        last.assign(ps);
        last_ok = LikePattern::Compile(ps, n.value.s[0], &pat);
        have = true;
      }
      if (!last_ok) {  // a trailing escape character matches nothing: NULL
        if (out.valid == nullptr) out.AllocValid(out.n);
        out.own_valid[static_cast<size_t>(i)] = 0;
        o[i] = 0;
        continue;
      }
      o[i] = pat.Matches(Ld<std::string_view>(s.data, i & sm));
    }
  }
  if (n.negated) return Not(out);
  return out;
}

Vec EvalCase(const BoundNode& n, Ctx& ctx) {
  size_t pairs = n.args.size() / 2;
  bool has_else = n.args.size() % 2 == 1;
  std::vector<Vec> vals;
  vals.reserve(n.args.size());
  for (const BoundNode& a : n.args) vals.push_back(Eval(a, ctx));
  bool scalar = true;
  for (const Vec& v : vals) scalar &= v.scalar;
  int64_t rows = scalar ? 1 : ctx.rows;
  std::vector<int> pick(static_cast<size_t>(rows), has_else ? static_cast<int>(pairs) : -1);
  std::vector<uint8_t> decided(static_cast<size_t>(rows), 0);
  std::vector<const Vec*> srcs;
  for (size_t k = 0; k < pairs; ++k) {
    const Vec& c = vals[2 * k];
    for (int64_t i = 0; i < rows; ++i) {
      int64_t j = i & c.mask();
      if (!decided[static_cast<size_t>(i)] && c.Valid(j) && c.data[j]) {
        decided[static_cast<size_t>(i)] = 1;
        pick[static_cast<size_t>(i)] = static_cast<int>(k);
      }
    }
    srcs.push_back(&vals[2 * k + 1]);
  }
  if (has_else) srcs.push_back(&vals.back());
  for (int64_t i = 0; i < rows; ++i) {
    int k = pick[static_cast<size_t>(i)];
    if (k >= 0) {
      const Vec& s = *srcs[static_cast<size_t>(k)];
      if (!s.Valid(i & s.mask())) pick[static_cast<size_t>(i)] = -1;
    }
  }
  if (n.type.kind == Kind::kNull) return NullVec(n.type);
  return Gather(n.type, srcs, pick, scalar, ctx.rows);
}

Vec EvalCall(const BoundNode& n, Ctx& ctx) {
  std::vector<Vec> a;
  a.reserve(n.args.size());
  for (const BoundNode& x : n.args) a.push_back(Eval(x, ctx));
  switch (n.func) {
    case Func::kLength: {
      if (a[0].NullScalar()) return NullVec(n.type);
      return MapLoop<std::string_view, int64_t>(a[0], n.type, Utf8Length);
    }
    case Func::kLower:
    case Func::kUpper: {
      if (a[0].NullScalar()) return NullVec(n.type);
      bool up = n.func == Func::kUpper;
      return StringMap(a[0], [up](std::string_view s, std::string& h) {
        for (char c : s) {
          if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
          if (!up && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
          h += c;
        }
      });
    }
    case Func::kTrim:
    case Func::kLtrim:
    case Func::kRtrim:
      if (a[0].NullScalar()) return NullVec(n.type);
      return Trim(a[0], n.func != Func::kRtrim, n.func != Func::kLtrim);
    case Func::kStartsWith:
    case Func::kEndsWith:
    case Func::kContains: return StringPredicate(n.func, a[0], a[1], ctx.rows);
    case Func::kAbs: {
      if (a[0].NullScalar()) return NullVec(n.type);
      if (n.type.kind == Kind::kFloat64) return MapLoop<double, double>(a[0], n.type, [](double v) { return std::fabs(v); });
      Vec neg = Negate(a[0]);
      // abs(x) = x when x >= 0, else -x (NULL when -x overflows).
      Vec zero = NewVec(n.type, true, 1);
      zero.Alloc<int128_t>(1);
      Vec is_neg = Compare(Op::kLt, a[0], zero, ctx.rows);
      std::vector<const Vec*> srcs{&a[0], &neg};
      std::vector<int> pick(static_cast<size_t>(a[0].n));
      for (int64_t i = 0; i < a[0].n; ++i) {
        int k = is_neg.data[i] ? 1 : 0;
        pick[static_cast<size_t>(i)] = srcs[static_cast<size_t>(k)]->Valid(i) ? k : -1;
      }
      return Gather(n.type, srcs, pick, a[0].scalar, ctx.rows);
    }
    case Func::kNow: {
      Vec v = NewVec(n.type, true, 1);
      *v.Alloc<int64_t>(1) = ctx.now_micros;
      return v;
    }
    case Func::kToday: {
      Vec v = NewVec(n.type, true, 1);
      int64_t days = ctx.now_micros / 86400000000LL - (ctx.now_micros % 86400000000LL < 0 ? 1 : 0);
      *v.Alloc<int32_t>(1) = static_cast<int32_t>(days);
      return v;
    }
    case Func::kCoalesce: {
      if (n.type.kind == Kind::kNull) return NullVec(n.type);
      bool scalar = true;
      for (const Vec& v : a) scalar &= v.scalar;
      int64_t rows = scalar ? 1 : ctx.rows;
      std::vector<int> pick(static_cast<size_t>(rows), -1);
      std::vector<const Vec*> srcs;
      for (size_t k = a.size(); k-- > 0;) {
        const Vec& v = a[k];
        for (int64_t i = 0; i < rows; ++i) {
          if (v.Valid(i & v.mask())) pick[static_cast<size_t>(i)] = static_cast<int>(k);
        }
      }
      for (const Vec& v : a) srcs.push_back(&v);
      return Gather(n.type, srcs, pick, scalar, ctx.rows);
    }
    case Func::kNullIf: {
      if (a[0].NullScalar()) return NullVec(n.type);
      Vec eq = Compare(Op::kEq, a[0], a[1], ctx.rows);
      bool scalar = a[0].scalar && a[1].scalar;
      int64_t rows = scalar ? 1 : ctx.rows;
      std::vector<const Vec*> srcs{&a[0]};
      std::vector<int> pick(static_cast<size_t>(rows), 0);
      for (int64_t i = 0; i < rows; ++i) {
        bool same = eq.Valid(i & eq.mask()) && eq.data[i & eq.mask()];
        if (same || !a[0].Valid(i & a[0].mask())) pick[static_cast<size_t>(i)] = -1;
      }
      return Gather(n.type, srcs, pick, scalar, ctx.rows);
    }
    case Func::kDateDiff: {
      if (a[1].NullScalar() || a[2].NullScalar()) return NullVec(n.type);
      int64_t unit = n.unit_micros;
      return ArithLoop<int64_t, int64_t, int64_t>(a[1], a[2], n.type, ctx.rows, [unit](int64_t x, int64_t y, int64_t* o) {
        int64_t d;
        if (__builtin_sub_overflow(y, x, &d)) return false;
        *o = d / unit;
        return true;
      });
    }
  }
  return NullVec(n.type);
}

Vec Eval(const BoundNode& n, Ctx& ctx) {
  switch (n.kind) {
    case BoundKind::kConst: return FromConst(n);
    case BoundKind::kColumn: return FromColumn(ctx.batch.column(static_cast<size_t>(n.column)), n.type, ctx.rows);
    case BoundKind::kCast: return Cast(Eval(n.args[0], ctx), n.type);
    case BoundKind::kUnary: {
      Vec a = Eval(n.args[0], ctx);
      if (n.op == Op::kNot) return a.NullScalar() ? NullVec(n.type) : Not(a);
      return Negate(a);
    }
    case BoundKind::kBinary: {
      Vec l = Eval(n.args[0], ctx);
      Vec r = Eval(n.args[1], ctx);
      switch (n.op) {
        case Op::kAnd:
        case Op::kOr: return Logic(n.op, l, r, ctx.rows);
        case Op::kEq:
        case Op::kNe:
        case Op::kLt:
        case Op::kLe:
        case Op::kGt:
        case Op::kGe: return Compare(n.op, l, r, ctx.rows);
        case Op::kConcat: return Concat(l, r, ctx.rows);
        default: return Arith(n.op, l, r, n.type, ctx.rows);
      }
    }
    case BoundKind::kIsNull: {
      Vec a = Eval(n.args[0], ctx);
      Vec out = NewVec({Kind::kBool}, a.scalar, ctx.rows);
      uint8_t* o = out.Alloc<uint8_t>(out.n);
      uint8_t want_valid = n.negated ? 1 : 0;
      for (int64_t i = 0; i < out.n; ++i) o[i] = a.Valid(i) == want_valid;
      return out;
    }
    case BoundKind::kIn: return EvalIn(n, ctx);
    case BoundKind::kLike: return EvalLike(n, ctx);
    case BoundKind::kCall: return EvalCall(n, ctx);
    case BoundKind::kCase: return EvalCase(n, ctx);
  }
  return NullVec(n.type);
}

}  // namespace
}  // namespace expr_internal

Status EvalPredicate(const BoundExpr& e, const RecordBatch& batch, std::vector<uint8_t>* out) {
  using namespace expr_internal;
  const Schema& schema = *batch.schema();
  const std::vector<Field>& inputs = e.inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name.empty()) continue;
    if (i >= schema.size() || schema.field(i).name != inputs[i].name ||
        FromDataType(schema.field(i).type) != FromDataType(inputs[i].type)) {
      return Status::InvalidArgument("expression '" + e.text() +
                                     "' was bound to a different schema (column '" +
                                     inputs[i].name + "')");
    }
  }
  int64_t rows = batch.num_rows();
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  Ctx ctx{batch, rows, static_cast<int64_t>(now.count())};
  out->resize(static_cast<size_t>(rows));
  if (rows == 0) return Status::OK();
  Vec v = Eval(e.root(), ctx);
  uint8_t* o = out->data();
  if (v.scalar) {
    uint8_t pass = v.NullScalar() || v.type.kind == Kind::kNull || v.data[0] != 0;
    std::memset(o, pass, static_cast<size_t>(rows));
  } else if (v.valid == nullptr) {
    std::memcpy(o, v.data, static_cast<size_t>(rows));
  } else {
    for (int64_t i = 0; i < rows; ++i) o[i] = v.data[i] | (v.valid[i] ^ 1);
  }
  return Status::OK();
}

Status EvalPredicate(const Expr& e, const RecordBatch& batch, std::vector<uint8_t>* out) {
  ASSIGN_OR_RETURN(std::shared_ptr<const BoundExpr> bound, BindExpr(e, *batch.schema()));
  return EvalPredicate(*bound, batch, out);
}

}  // namespace sluice
