#pragma once
// The data-contract expression language (README.md in this folder has the grammar).
//
// Lifecycle: ParseExpr turns text into an Expr (syntax only). BindExpr resolves its column names
// and checks its types against one schema, giving a BoundExpr. EvalPredicate runs a BoundExpr
// over whole batches of that schema. Expr and BoundExpr are immutable once built: any number of
// threads may evaluate the same one at once.
//
// A row passes a check when the expression is TRUE or NULL (SQL CHECK semantics) and fails it
// when the expression is FALSE.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_batch.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

namespace expr_internal {
struct Node;
struct BoundNode;
}  // namespace expr_internal

// A parsed expression: syntax only, not tied to any schema.
class Expr {
 public:
  explicit Expr(std::string text, std::shared_ptr<const expr_internal::Node> root)
      : text_(std::move(text)), root_(std::move(root)) {}
  const std::string& text() const { return text_; }
  const expr_internal::Node& root() const { return *root_; }

 private:
  std::string text_;
  std::shared_ptr<const expr_internal::Node> root_;
};

// An expression bound to one schema: columns resolved to indices, types checked, implicit casts
// made explicit. Evaluate it only over batches whose schema has the bound columns at the same
// positions and types (EvalPredicate checks this and fails with InvalidArgument otherwise).
class BoundExpr {
 public:
  BoundExpr(std::string text, std::shared_ptr<const expr_internal::BoundNode> root,
            std::vector<Field> inputs);
  ~BoundExpr();
  const std::string& text() const { return text_; }
  const expr_internal::BoundNode& root() const { return *root_; }
  // Type of the whole expression (bool for a predicate; NULL literals report bool).
  DataType type() const;
  // The fields the expression reads, indexed by column position (unused positions are empty).
  const std::vector<Field>& inputs() const { return inputs_; }

 private:
  std::string text_;
  std::shared_ptr<const expr_internal::BoundNode> root_;
  std::vector<Field> inputs_;
};

// Parses `text`. Errors are InvalidArgument naming the 1-based column of the problem, followed
// by the expression and a caret under that column:
//   "expected ')' at column 16\n  length(name > 3\n                 ^"
Result<std::shared_ptr<const Expr>> ParseExpr(std::string_view text);

// Binds `e` to `schema`. Errors (same style as parse errors): an unknown column (with a
// "did you mean"), an unknown function, a wrong number of arguments, operands that do not fit an
// operator ("cannot compare string with int64 at column 6"), and a check that is not boolean.
Result<std::shared_ptr<const BoundExpr>> BindExpr(const Expr& e, const Schema& schema);

// Evaluates a boolean expression over every row of `batch`: out[i] = 1 when row i passes (TRUE
// or NULL), 0 when it fails (FALSE). `out` is resized to batch.num_rows().
Status EvalPredicate(const BoundExpr& e, const RecordBatch& batch, std::vector<uint8_t>* out);

// Convenience for one-off use: binds `e` to the batch's schema, then evaluates it.
Status EvalPredicate(const Expr& e, const RecordBatch& batch, std::vector<uint8_t>* out);

// The column names the expression reads, in order of first appearance, without duplicates.
std::vector<std::string> ReferencedColumns(const Expr& e);

}  // namespace sluice
