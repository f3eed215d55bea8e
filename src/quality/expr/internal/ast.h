#pragma once
// Syntax tree (Node) and bound tree (BoundNode) of the expression language. Internal to
// src/quality/expr/.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/column.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice::expr_internal {

// Value kinds the evaluator works with. string also carries json and binary (as bytes).
enum class Kind : uint8_t { kNull, kBool, kInt64, kFloat64, kDecimal, kString, kDate, kTimestamp, kTime };

struct VType {
  Kind kind = Kind::kNull;
  uint8_t scale = 0;  // decimal only
  bool operator==(const VType& o) const { return kind == o.kind && scale == o.scale; }
  bool operator!=(const VType& o) const { return !(*this == o); }
};

std::string KindName(VType t);
// The evaluator's view of a column type.
VType FromDataType(const DataType& t);

enum class Op : uint8_t {
  kAdd, kSub, kMul, kDiv, kMod, kConcat,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kAnd, kOr, kNot, kNeg,
};

const char* OpSpelling(Op op);

// InvalidArgument "<msg> at column <pos>" followed by the text and a caret under column `pos`.
Status ErrorAt(std::string_view text, int pos, std::string_view msg);

// A constant: the literal of a Node, or a folded constant of a BoundNode.
struct Literal {
  VType type;  // kNull for NULL
  bool b = false;
  int64_t i = 0;  // int64, date (days), timestamp and time (µs)
  double f = 0;
  int128_t d = 0;
  std::string s;
};

enum class NodeKind : uint8_t { kLiteral, kColumn, kUnary, kBinary, kIsNull, kIn, kLike, kBetween, kCall, kCase };

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  int pos = 1;            // 1-based column in the text, of the token that names the node
  Op op = Op::kAdd;       // kUnary, kBinary
  bool negated = false;   // IS NOT NULL, NOT IN, NOT LIKE, NOT BETWEEN
  bool quoted = false;    // kColumn spelled "like this": matched exactly
  std::string name;       // column or function name
  Literal literal;        // kLiteral
  std::vector<NodePtr> args;  // operands; kCase: when,then,...,[else]; kLike: value, pattern[, escape]
};

enum class Func : uint8_t {
  kLength, kLower, kUpper, kTrim, kLtrim, kRtrim, kCoalesce, kAbs, kNow, kToday, kDateDiff,
  kStartsWith, kEndsWith, kContains, kNullIf,
};

enum class BoundKind : uint8_t { kConst, kColumn, kCast, kUnary, kBinary, kIsNull, kIn, kLike, kCall, kCase };

struct LikePattern;  // compiled in eval.cc

struct BoundNode {
  BoundKind kind = BoundKind::kConst;
  VType type;
  int pos = 1;  // column in the text, for errors about a constant
  Op op = Op::kAdd;
  bool negated = false;
  Func func = Func::kLength;
  int column = -1;
  int64_t unit_micros = 0;  // date_diff
  Literal value;            // kConst
  std::shared_ptr<const LikePattern> like;  // kLike with a constant pattern
  std::vector<BoundNode> args;
};

}  // namespace sluice::expr_internal
