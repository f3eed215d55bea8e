// Binding: resolves column names, checks operand types and makes every implicit cast explicit,
// so that the evaluator's kernels only ever see operands of one type.

#include <cctype>

#include "core/strings.h"
#include "core/values.h"
#include "quality/expr/expr.h"
#include "quality/expr/internal/ast.h"
#include "quality/expr/internal/like.h"

namespace sluice {
namespace expr_internal {
VType FromDataType(const DataType& t) {
  switch (t.id) {
    case TypeId::kBool: return {Kind::kBool};
    case TypeId::kInt64: return {Kind::kInt64};
    case TypeId::kFloat64: return {Kind::kFloat64};
    case TypeId::kDecimal: return {Kind::kDecimal, t.scale};
    case TypeId::kDate: return {Kind::kDate};
    case TypeId::kTime: return {Kind::kTime};
    case TypeId::kTimestamp: return {Kind::kTimestamp};
    case TypeId::kString:
    case TypeId::kBinary:
    case TypeId::kJson: return {Kind::kString};
  }
  return {Kind::kString};
}

namespace {

bool IsNumeric(Kind k) { return k == Kind::kInt64 || k == Kind::kFloat64 || k == Kind::kDecimal; }


double DecimalToDouble(int128_t v, int scale) {
  return static_cast<double>(v) / static_cast<double>(Pow10(scale));
}

BoundNode Const(VType t, Literal v) {
  BoundNode n;
  n.kind = BoundKind::kConst;
  n.type = t;
  n.value = std::move(v);
  return n;
}

struct FuncInfo {
  const char* name;
  Func func;
  int min_args;
  int max_args;  // -1: any number
};

constexpr FuncInfo kFuncs[] = {
    {"length", Func::kLength, 1, 1},      {"lower", Func::kLower, 1, 1},
    {"upper", Func::kUpper, 1, 1},        {"trim", Func::kTrim, 1, 1},
    {"ltrim", Func::kLtrim, 1, 1},        {"rtrim", Func::kRtrim, 1, 1},
    {"coalesce", Func::kCoalesce, 1, -1}, {"abs", Func::kAbs, 1, 1},
    {"now", Func::kNow, 0, 0},            {"today", Func::kToday, 0, 0},
    {"date_diff", Func::kDateDiff, 3, 3}, {"starts_with", Func::kStartsWith, 2, 2},
    {"ends_with", Func::kEndsWith, 2, 2}, {"contains", Func::kContains, 2, 2},
    {"nullif", Func::kNullIf, 2, 2},
};

class Binder {
 public:
  Binder(std::string_view text, const Schema& schema) : text_(text), schema_(schema) {
    inputs_.resize(schema.size());
  }
  std::vector<Field> TakeInputs() { return std::move(inputs_); }

  Result<BoundNode> Bind(const Node& n) {
    ASSIGN_OR_RETURN(BoundNode b, BindNode(n));
    b.pos = n.pos;
    return b;
  }

  Result<BoundNode> BindNode(const Node& n) {
    switch (n.kind) {
      case NodeKind::kLiteral: return Const(n.literal.type, n.literal);
      case NodeKind::kColumn: return BindColumn(n);
      case NodeKind::kUnary: return BindUnary(n);
      case NodeKind::kBinary: return BindBinary(n);
      case NodeKind::kIsNull: {
        BoundNode b;
        b.kind = BoundKind::kIsNull;
        b.type = {Kind::kBool};
        b.negated = n.negated;
        ASSIGN_OR_RETURN(BoundNode a, Bind(*n.args[0]));
        b.args.push_back(std::move(a));
        return b;
      }
      case NodeKind::kIn: return BindIn(n);
      case NodeKind::kLike: return BindLike(n);
      case NodeKind::kBetween: return BindBetween(n);
      case NodeKind::kCall: return BindCall(n);
      case NodeKind::kCase: return BindCase(n);
    }
    return Status::Internal("unknown node");
  }

  Status Error(int pos, std::string_view msg) const { return ErrorAt(text_, pos, msg); }

  // Casts `n` to `to`: folds constants, wraps anything else in a kCast node.
  Result<BoundNode> Cast(BoundNode n, VType to, int pos) {
    if (n.type == to) return n;
    if (n.kind != BoundKind::kConst) {
      BoundNode c;
      c.kind = BoundKind::kCast;
      c.type = to;
      c.args.push_back(std::move(n));
      return c;
    }
    Literal v = n.value;
    pos = n.pos;
    auto at = [pos](BoundNode c) {
      c.pos = pos;
      return c;
    };
    if (v.type.kind == Kind::kNull) return at(Const(to, v));
    Literal out;
    out.type = to;
    switch (to.kind) {
      case Kind::kFloat64:
        out.f = v.type.kind == Kind::kInt64 ? static_cast<double>(v.i) : DecimalToDouble(v.d, v.type.scale);
        break;
      case Kind::kDecimal:
        out.d = (v.type.kind == Kind::kInt64 ? static_cast<int128_t>(v.i) : v.d) *
                Pow10(to.scale - (v.type.kind == Kind::kInt64 ? 0 : v.type.scale));
        break;
      case Kind::kTimestamp:
        if (v.type.kind == Kind::kDate) {
          out.i = v.i * 86400000000LL;
        } else {
          bool zone = false;
          if (!ParseTimestamp(v.s, &out.i, &zone)) return Error(pos, "invalid timestamp '" + v.s + "'");
        }
        break;
      case Kind::kDate: {
        int32_t days = 0;
        if (!ParseDate(v.s, &days)) return Error(pos, "invalid date '" + v.s + "'");
        out.i = days;
        break;
      }
      case Kind::kTime:
        if (!ParseTime(v.s, &out.i)) return Error(pos, "invalid time '" + v.s + "'");
        break;
      default: return Status::Internal("unsupported constant cast");
    }
    return at(Const(to, std::move(out)));
  }

  // The type both sides of a comparison (or the items of IN, the arguments of coalesce ...) are
  // cast to. `verb` words the error: "cannot compare string with int64".
  Result<VType> Common(const BoundNode& a, const BoundNode& b, int pos, std::string_view verb) {
    VType x = a.type, y = b.type;
    if (x.kind == Kind::kNull) return y;
    if (y.kind == Kind::kNull || x == y) return x;
    if (IsNumeric(x.kind) && IsNumeric(y.kind)) {
      if (x.kind == Kind::kFloat64 || y.kind == Kind::kFloat64) return VType{Kind::kFloat64};
      return VType{Kind::kDecimal, std::max(x.scale, y.scale)};  // int64 counts as scale 0
    }
    auto temporal = [](Kind k) { return k == Kind::kDate || k == Kind::kTimestamp; };
    if (temporal(x.kind) && temporal(y.kind)) return VType{Kind::kTimestamp};
    // A string constant next to a date, timestamp or time is read as one: d >= '2024-01-01'.
    auto text_const = [](const BoundNode& n) {
      return n.kind == BoundKind::kConst && n.type.kind == Kind::kString;
    };
    bool tx = temporal(x.kind) || x.kind == Kind::kTime;
    bool ty = temporal(y.kind) || y.kind == Kind::kTime;
    if (tx && text_const(b)) return x;
    if (ty && text_const(a)) return y;
    return Error(pos, std::string(verb) + " " + KindName(x) + " with " + KindName(y));
  }

 private:
  Result<BoundNode> BindColumn(const Node& n) {
    int idx = schema_.IndexOf(n.name);
    if (idx < 0 && !n.quoted) {
      // Bare names also match a column that differs only in case, when only one does.
      std::string lower = ToLower(n.name);
      for (size_t i = 0; i < schema_.size(); ++i) {
        if (ToLower(schema_.field(i).name) == lower) {
          if (idx >= 0) {
            return Error(n.pos, "column name '" + n.name +
                                    "' is ambiguous; quote it to match its exact case");
          }
          idx = static_cast<int>(i);
        }
      }
    }
    if (idx < 0) {
      std::string msg = "unknown column '" + n.name + "'";
      std::string best;
      size_t best_d = std::max<size_t>(2, n.name.size() / 3) + 1;
      for (const Field& f : schema_.fields()) {
        size_t d = EditDistance(ToLower(n.name), ToLower(f.name));
        if (d < best_d) {
          best_d = d;
          best = f.name;
        }
      }
      if (!best.empty()) msg += " (did you mean '" + best + "'?)";
      return Error(n.pos, msg);
    }
    const Field& f = schema_.field(static_cast<size_t>(idx));
    inputs_[static_cast<size_t>(idx)] = f;
    BoundNode b;
    b.kind = BoundKind::kColumn;
    b.column = idx;
    b.type = FromDataType(f.type);
    return b;
  }

  Status NeedBool(const BoundNode& a, int pos, std::string_view what) {
    if (a.type.kind == Kind::kBool || a.type.kind == Kind::kNull) return Status::OK();
    return Error(pos, std::string(what) + " needs a true/false operand, got " + KindName(a.type));
  }

  Result<BoundNode> BindUnary(const Node& n) {
    ASSIGN_OR_RETURN(BoundNode a, Bind(*n.args[0]));
    BoundNode b;
    b.kind = BoundKind::kUnary;
    b.op = n.op;
    if (n.op == Op::kNot) {
      RETURN_IF_ERROR(NeedBool(a, n.pos, "NOT"));
      b.type = {Kind::kBool};
    } else {
      if (!IsNumeric(a.type.kind) && a.type.kind != Kind::kNull) {
        return Error(n.pos, "cannot negate " + KindName(a.type));
      }
      b.type = a.type;
    }
    b.args.push_back(std::move(a));
    return b;
  }

  Result<BoundNode> Binary(Op op, BoundNode l, BoundNode r, int pos) {
    BoundNode b;
    b.kind = BoundKind::kBinary;
    b.op = op;
    switch (op) {
      case Op::kAnd:
      case Op::kOr:
        RETURN_IF_ERROR(NeedBool(l, pos, OpSpelling(op)));
        RETURN_IF_ERROR(NeedBool(r, pos, OpSpelling(op)));
        b.type = {Kind::kBool};
        break;
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        ASSIGN_OR_RETURN(VType t, Common(l, r, pos, "cannot compare"));
        ASSIGN_OR_RETURN(l, Cast(std::move(l), t, pos));
        ASSIGN_OR_RETURN(r, Cast(std::move(r), t, pos));
        b.type = {Kind::kBool};
        break;
      }
      case Op::kConcat: {
        auto ok = [](Kind k) { return k == Kind::kString || k == Kind::kNull; };
        if (!ok(l.type.kind) || !ok(r.type.kind)) {
          return Error(pos, "cannot apply '||' to " + KindName(l.type) + " and " + KindName(r.type));
        }
        b.type = {Kind::kString};
        break;
      }
      default: {
        ASSIGN_OR_RETURN(b.type, ArithType(op, l, r, pos));
        if (b.type.kind == Kind::kDate) {  // date +/- int64 days
          ASSIGN_OR_RETURN(r, Cast(std::move(r), VType{Kind::kInt64}, pos));
        } else if (l.type.kind == Kind::kDate && r.type.kind == Kind::kDate) {
          // date - date: days, computed as int64 operands.
        } else if (b.type.kind != Kind::kNull) {
          // Operands share one numeric type; '/' works in float64 unless both are decimal or int,
          // in which case it still divides as float64 (see README).
          VType operand = b.type;
          if (op == Op::kDiv) operand = {Kind::kFloat64};
          if (op == Op::kMul && b.type.kind == Kind::kDecimal) {
            // Decimal products keep both scales: the operands stay as they are, widened to
            // decimal when one is int64.
            for (BoundNode* x : {&l, &r}) {
              if (x->type.kind == Kind::kInt64 || x->type.kind == Kind::kNull) {
                ASSIGN_OR_RETURN(*x, Cast(std::move(*x), VType{Kind::kDecimal, 0}, pos));
              }
            }
            break;
          }
          ASSIGN_OR_RETURN(l, Cast(std::move(l), operand, pos));
          ASSIGN_OR_RETURN(r, Cast(std::move(r), operand, pos));
        }
        break;
      }
    }
    b.args.push_back(std::move(l));
    b.args.push_back(std::move(r));
    return b;
  }

  Result<VType> ArithType(Op op, const BoundNode& l, const BoundNode& r, int pos) {
    Kind x = l.type.kind, y = r.type.kind;
    if (x == Kind::kDate && (y == Kind::kInt64 || y == Kind::kNull) && (op == Op::kAdd || op == Op::kSub)) {
      return VType{Kind::kDate};
    }
    if (x == Kind::kDate && y == Kind::kDate && op == Op::kSub) return VType{Kind::kInt64};
    bool nx = IsNumeric(x) || x == Kind::kNull, ny = IsNumeric(y) || y == Kind::kNull;
    if (!nx || !ny) {
      std::string msg = std::string("cannot apply '") + OpSpelling(op) + "' to " + KindName(l.type) +
                        " and " + KindName(r.type);
      if (x == Kind::kTimestamp || y == Kind::kTimestamp) msg += "; use date_diff() for intervals";
      return Error(pos, msg);
    }
    if (x == Kind::kNull && y == Kind::kNull) return VType{Kind::kNull};
    if (op == Op::kDiv) return VType{Kind::kFloat64};
    if (x == Kind::kFloat64 || y == Kind::kFloat64) return VType{Kind::kFloat64};
    if (x == Kind::kDecimal || y == Kind::kDecimal) {
      uint8_t sx = x == Kind::kDecimal ? l.type.scale : 0, sy = y == Kind::kDecimal ? r.type.scale : 0;
      if (op == Op::kMul) {
        if (sx + sy > 38) return Error(pos, "decimal product has more than 38 digits of scale");
        return VType{Kind::kDecimal, static_cast<uint8_t>(sx + sy)};
      }
      return VType{Kind::kDecimal, std::max(sx, sy)};
    }
    if (x == Kind::kNull) return r.type;
    return l.type;
  }

  Result<BoundNode> BindBinary(const Node& n) {
    ASSIGN_OR_RETURN(BoundNode l, Bind(*n.args[0]));
    ASSIGN_OR_RETURN(BoundNode r, Bind(*n.args[1]));
    return Binary(n.op, std::move(l), std::move(r), n.pos);
  }

  Result<BoundNode> BindBetween(const Node& n) {
    ASSIGN_OR_RETURN(BoundNode x, Bind(*n.args[0]));
    ASSIGN_OR_RETURN(BoundNode lo, Bind(*n.args[1]));
    ASSIGN_OR_RETURN(BoundNode hi, Bind(*n.args[2]));
    ASSIGN_OR_RETURN(BoundNode ge, Binary(Op::kGe, x, std::move(lo), n.pos));
    ASSIGN_OR_RETURN(BoundNode le, Binary(Op::kLe, std::move(x), std::move(hi), n.pos));
    ASSIGN_OR_RETURN(BoundNode both, Binary(Op::kAnd, std::move(ge), std::move(le), n.pos));
    if (!n.negated) return both;
    BoundNode b;
    b.kind = BoundKind::kUnary;
    b.op = Op::kNot;
    b.type = {Kind::kBool};
    b.args.push_back(std::move(both));
    return b;
  }

  Result<BoundNode> BindIn(const Node& n) {
    BoundNode b;
    b.kind = BoundKind::kIn;
    b.type = {Kind::kBool};
    b.negated = n.negated;
    for (const NodePtr& a : n.args) {
      ASSIGN_OR_RETURN(BoundNode x, Bind(*a));
      b.args.push_back(std::move(x));
    }
    VType t = b.args[0].type;
    for (size_t i = 1; i < b.args.size(); ++i) {
      BoundNode probe = Const(t, {});
      if (i > 1 || b.args[0].kind != BoundKind::kConst) probe.kind = BoundKind::kColumn;
      ASSIGN_OR_RETURN(t, Common(i == 1 ? b.args[0] : probe, b.args[i], n.args[i]->pos, "cannot compare"));
    }
    for (size_t i = 0; i < b.args.size(); ++i) {
      ASSIGN_OR_RETURN(b.args[i], Cast(std::move(b.args[i]), t, n.args[i]->pos));
    }
    return b;
  }

  Result<BoundNode> BindLike(const Node& n) {
    BoundNode b;
    b.kind = BoundKind::kLike;
    b.type = {Kind::kBool};
    b.negated = n.negated;
    b.value.s = n.args.size() > 2 ? n.args[2]->literal.s : std::string("\\");
    for (size_t i = 0; i < 2; ++i) {
      ASSIGN_OR_RETURN(BoundNode x, Bind(*n.args[i]));
      if (x.type.kind != Kind::kString && x.type.kind != Kind::kNull) {
        return Error(n.args[i]->pos, "LIKE needs string operands, got " + KindName(x.type));
      }
      b.args.push_back(std::move(x));
    }
    const BoundNode& pat = b.args[1];
    if (pat.kind == BoundKind::kConst && pat.value.type.kind == Kind::kString) {
      auto like = std::make_shared<LikePattern>();
      if (!LikePattern::Compile(pat.value.s, b.value.s[0], like.get())) {
        return Error(n.args[1]->pos, "LIKE pattern ends with the escape character");
      }
      b.like = std::move(like);
    }
    return b;
  }

  Result<BoundNode> BindCase(const Node& n) {
    BoundNode b;
    b.kind = BoundKind::kCase;
    size_t pairs = n.args.size() / 2;
    VType t{Kind::kNull};
    for (size_t i = 0; i < n.args.size(); ++i) {
      ASSIGN_OR_RETURN(BoundNode x, Bind(*n.args[i]));
      bool is_cond = i < pairs * 2 && i % 2 == 0;
      if (is_cond) {
        RETURN_IF_ERROR(NeedBool(x, n.args[i]->pos, "WHEN"));
      } else {
        BoundNode probe = Const(t, {});
        probe.kind = BoundKind::kColumn;
        ASSIGN_OR_RETURN(t, Common(probe, x, n.args[i]->pos, "CASE cannot mix"));
      }
      b.args.push_back(std::move(x));
    }
    for (size_t i = 0; i < b.args.size(); ++i) {
      bool is_cond = i < pairs * 2 && i % 2 == 0;
      if (!is_cond) {
        ASSIGN_OR_RETURN(b.args[i], Cast(std::move(b.args[i]), t, n.args[i]->pos));
      }
    }
    b.type = t;
    return b;
  }

  Result<BoundNode> BindCall(const Node& n) {
    const FuncInfo* info = nullptr;
    for (const FuncInfo& f : kFuncs) {
      if (n.name == f.name) info = &f;
    }
    if (info == nullptr) {
      std::string msg = "unknown function '" + n.name + "'";
      std::string best;
      size_t best_d = 3;
      for (const FuncInfo& f : kFuncs) {
        size_t d = EditDistance(n.name, f.name);
        if (d < best_d) {
          best_d = d;
          best = f.name;
        }
      }
      if (!best.empty()) msg += " (did you mean '" + best + "'?)";
      return Error(n.pos, msg);
    }
    int argc = static_cast<int>(n.args.size());
    if (argc < info->min_args || (info->max_args >= 0 && argc > info->max_args)) {
      std::string want = info->max_args < 0 ? "at least " + std::to_string(info->min_args)
                                            : std::to_string(info->min_args);
      return Error(n.pos, std::string(info->name) + "() takes " + want + " argument" +
                              (info->min_args == 1 ? "" : "s") + ", got " + std::to_string(argc));
    }
    BoundNode b;
    b.kind = BoundKind::kCall;
    b.func = info->func;
    for (const NodePtr& a : n.args) {
      ASSIGN_OR_RETURN(BoundNode x, Bind(*a));
      b.args.push_back(std::move(x));
    }
    auto need = [&](size_t i, auto pred, std::string_view what) -> Status {
      Kind k = b.args[i].type.kind;
      if (k == Kind::kNull || pred(k)) return Status::OK();
      return Error(n.args[i]->pos, std::string(info->name) + "() needs " + std::string(what) +
                                       ", got " + KindName(b.args[i].type));
    };
    auto is_string = [](Kind k) { return k == Kind::kString; };
    switch (info->func) {
      case Func::kLength:
        RETURN_IF_ERROR(need(0, is_string, "a string"));
        b.type = {Kind::kInt64};
        break;
      case Func::kLower:
      case Func::kUpper:
      case Func::kTrim:
      case Func::kLtrim:
      case Func::kRtrim:
        RETURN_IF_ERROR(need(0, is_string, "a string"));
        b.type = {Kind::kString};
        break;
      case Func::kStartsWith:
      case Func::kEndsWith:
      case Func::kContains:
        RETURN_IF_ERROR(need(0, is_string, "strings"));
        RETURN_IF_ERROR(need(1, is_string, "strings"));
        b.type = {Kind::kBool};
        break;
      case Func::kAbs:
        RETURN_IF_ERROR(need(0, IsNumeric, "a number"));
        b.type = b.args[0].type;
        break;
      case Func::kNow: b.type = {Kind::kTimestamp}; break;
      case Func::kToday: b.type = {Kind::kDate}; break;
      case Func::kCoalesce:
      case Func::kNullIf: {
        VType t = b.args[0].type;
        for (size_t i = 1; i < b.args.size(); ++i) {
          BoundNode probe = Const(t, {});
          if (i > 1 || b.args[0].kind != BoundKind::kConst) probe.kind = BoundKind::kColumn;
          const char* verb = info->func == Func::kCoalesce ? "coalesce() cannot mix" : "nullif() cannot compare";
          ASSIGN_OR_RETURN(t, Common(i == 1 ? b.args[0] : probe, b.args[i], n.args[i]->pos, verb));
        }
        for (size_t i = 0; i < b.args.size(); ++i) {
          ASSIGN_OR_RETURN(b.args[i], Cast(std::move(b.args[i]), t, n.args[i]->pos));
        }
        b.type = t;
        break;
      }
      case Func::kDateDiff: {
        const BoundNode& unit = b.args[0];
        if (unit.kind != BoundKind::kConst || unit.type.kind != Kind::kString) {
          return Error(n.args[0]->pos, "date_diff() needs a unit: 'day', 'hour', 'minute' or 'second'");
        }
        std::string u = ToLower(unit.value.s);
        if (!u.empty() && u.back() == 's') u.pop_back();
        if (u == "week") b.unit_micros = 7 * 86400000000LL;
        else if (u == "day") b.unit_micros = 86400000000LL;
        else if (u == "hour") b.unit_micros = 3600000000LL;
        else if (u == "minute") b.unit_micros = 60000000LL;
        else if (u == "second") b.unit_micros = 1000000LL;
        else if (u == "millisecond") b.unit_micros = 1000LL;
        else if (u == "microsecond") b.unit_micros = 1LL;
        else {
          return Error(n.args[0]->pos, "unknown date_diff() unit '" + unit.value.s +
                                           "'; use 'day', 'hour', 'minute' or 'second'");
        }
        for (size_t i = 1; i < 3; ++i) {
          Kind k = b.args[i].type.kind;
          if (k == Kind::kString && b.args[i].kind == BoundKind::kConst) {
            ASSIGN_OR_RETURN(b.args[i], Cast(std::move(b.args[i]), VType{Kind::kTimestamp}, n.args[i]->pos));
          }
          RETURN_IF_ERROR(need(i, [](Kind k2) { return k2 == Kind::kDate || k2 == Kind::kTimestamp; },
                               "a date or timestamp"));
          ASSIGN_OR_RETURN(b.args[i], Cast(std::move(b.args[i]), VType{Kind::kTimestamp}, n.args[i]->pos));
        }
        b.type = {Kind::kInt64};
        break;
      }
    }
    return b;
  }

  std::string_view text_;
  const Schema& schema_;
  std::vector<Field> inputs_;
};

}  // namespace
}  // namespace expr_internal

BoundExpr::BoundExpr(std::string text, std::shared_ptr<const expr_internal::BoundNode> root,
                     std::vector<Field> inputs)
    : text_(std::move(text)), root_(std::move(root)), inputs_(std::move(inputs)) {}
BoundExpr::~BoundExpr() = default;

DataType BoundExpr::type() const {
  using expr_internal::Kind;
  switch (root_->type.kind) {
    case Kind::kNull:
    case Kind::kBool: return DataType::Bool();
    case Kind::kInt64: return DataType::Int64();
    case Kind::kFloat64: return DataType::Float64();
    case Kind::kDecimal: return DataType::Decimal(38, root_->type.scale);
    case Kind::kString: return DataType::String();
    case Kind::kDate: return DataType::Date();
    case Kind::kTimestamp: return DataType::Timestamp();
    case Kind::kTime: return DataType::Time();
  }
  return DataType::Bool();
}

Result<std::shared_ptr<const BoundExpr>> BindExpr(const Expr& e, const Schema& schema) {
  using namespace expr_internal;
  Binder binder(e.text(), schema);
  ASSIGN_OR_RETURN(BoundNode root, binder.Bind(e.root()));
  if (root.type.kind != Kind::kBool && root.type.kind != Kind::kNull) {
    return ErrorAt(e.text(), e.root().pos,
                   "a check must be a true/false expression, got " + KindName(root.type));
  }
  return std::make_shared<const BoundExpr>(e.text(), std::make_shared<const BoundNode>(std::move(root)),
                                           binder.TakeInputs());
}

}  // namespace sluice
