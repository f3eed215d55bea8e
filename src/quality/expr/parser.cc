// Lexer and recursive-descent parser for the expression language (grammar in README.md).

#include <cctype>
#include <charconv>
#include <limits>

#include "core/strings.h"
#include "core/values.h"
#include "quality/expr/expr.h"
#include "quality/expr/internal/ast.h"

namespace sluice {
namespace expr_internal {

std::string KindName(VType t) {
  switch (t.kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "bool";
    case Kind::kInt64: return "int64";
    case Kind::kFloat64: return "float64";
    case Kind::kDecimal: return "decimal";
    case Kind::kString: return "string";
    case Kind::kDate: return "date";
    case Kind::kTimestamp: return "timestamp";
    case Kind::kTime: return "time";
  }
  return "?";
}

const char* OpSpelling(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kConcat: return "||";
    case Op::kEq: return "=";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kAnd: return "AND";
    case Op::kOr: return "OR";
    case Op::kNot: return "NOT";
    case Op::kNeg: return "-";
  }
  return "?";
}

Status ErrorAt(std::string_view text, int pos, std::string_view msg) {
  // The echoed text is one line: a contract may hold a multi-line (YAML block) expression.
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  std::string out(msg);
  out += " at column " + std::to_string(pos) + "\n  " + line + "\n  ";
  out.append(static_cast<size_t>(pos > 0 ? pos - 1 : 0), ' ');
  out += '^';
  return Status::InvalidArgument(std::move(out));
}

namespace {

enum class Tok : uint8_t {
  kEnd, kIdent, kQuotedIdent, kInt, kNumber, kString,
  kLParen, kRParen, kComma,
  kPlus, kMinus, kStar, kSlash, kPercent, kConcat,
  kEq, kNe, kLt, kLe, kGt, kGe,
};

struct Token {
  Tok type = Tok::kEnd;
  int pos = 1;
  std::string text;  // identifier (unquoted), string contents, number spelling
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Status Run(std::vector<Token>* out) {
    while (true) {
      while (i_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[i_]))) ++i_;
      Token t;
      t.pos = static_cast<int>(i_) + 1;
      if (i_ == text_.size()) {
        out->push_back(t);
        return Status::OK();
      }
      char c = text_[i_];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t b = i_;
        while (i_ < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[i_])) || text_[i_] == '_')) {
          ++i_;
        }
        t.type = Tok::kIdent;
        t.text = text_.substr(b, i_ - b);
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i_ + 1 < text_.size() &&
                  std::isdigit(static_cast<unsigned char>(text_[i_ + 1])))) {
        RETURN_IF_ERROR(Number(&t));
      } else if (c == '\'' || c == '"') {
        RETURN_IF_ERROR(Quoted(c, &t));
      } else {
        RETURN_IF_ERROR(Punct(&t));
      }
      out->push_back(std::move(t));
    }
  }

 private:
  Status Number(Token* t) {
    size_t b = i_;
    bool is_int = true;
    while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
    if (i_ < text_.size() && text_[i_] == '.') {
      is_int = false;
      ++i_;
      while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
    }
    if (i_ < text_.size() && (text_[i_] == 'e' || text_[i_] == 'E')) {
      size_t e = i_ + 1;
      if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
      if (e < text_.size() && std::isdigit(static_cast<unsigned char>(text_[e]))) {
        is_int = false;
        i_ = e;
        while (i_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i_]))) ++i_;
      }
    }
    if (i_ < text_.size() &&
        (std::isalpha(static_cast<unsigned char>(text_[i_])) || text_[i_] == '_')) {
      return ErrorAt(text_, static_cast<int>(i_) + 1, "unexpected character in number");
    }
    t->type = is_int ? Tok::kInt : Tok::kNumber;
    t->text = text_.substr(b, i_ - b);
    return Status::OK();
  }

  Status Quoted(char q, Token* t) {
    size_t start = i_++;
    while (true) {
      if (i_ >= text_.size()) {
        return ErrorAt(text_, static_cast<int>(start) + 1,
                       q == '\'' ? "unterminated string" : "unterminated quoted name");
      }
      if (text_[i_] == q) {
        if (i_ + 1 < text_.size() && text_[i_ + 1] == q) {  // '' or "" stands for one quote
          t->text += q;
          i_ += 2;
          continue;
        }
        ++i_;
        break;
      }
      t->text += text_[i_++];
    }
    t->type = q == '\'' ? Tok::kString : Tok::kQuotedIdent;
    if (t->type == Tok::kQuotedIdent && t->text.empty()) {
      return ErrorAt(text_, static_cast<int>(start) + 1, "empty quoted name");
    }
    return Status::OK();
  }

  Status Punct(Token* t) {
    char c = text_[i_];
    char n = i_ + 1 < text_.size() ? text_[i_ + 1] : '\0';
    auto one = [&](Tok k) { t->type = k; i_ += 1; return Status::OK(); };
    auto two = [&](Tok k) { t->type = k; i_ += 2; return Status::OK(); };
    switch (c) {
      case '(': return one(Tok::kLParen);
      case ')': return one(Tok::kRParen);
      case ',': return one(Tok::kComma);
      case '+': return one(Tok::kPlus);
      case '-': return one(Tok::kMinus);
      case '*': return one(Tok::kStar);
      case '/': return one(Tok::kSlash);
      case '%': return one(Tok::kPercent);
      case '=': return n == '=' ? two(Tok::kEq) : one(Tok::kEq);
      case '!':
        if (n == '=') return two(Tok::kNe);
        break;
      case '|':
        if (n == '|') return two(Tok::kConcat);
        break;
      case '<':
        if (n == '=') return two(Tok::kLe);
        if (n == '>') return two(Tok::kNe);
        return one(Tok::kLt);
      case '>':
        if (n == '=') return two(Tok::kGe);
        return one(Tok::kGt);
      default: break;
    }
    std::string msg = "unexpected character '";
    msg += c;
    msg += "'";
    return ErrorAt(text_, static_cast<int>(i_) + 1, msg);
  }

  std::string_view text_;
  size_t i_ = 0;
};

bool IsKeyword(const Token& t, std::string_view kw) {
  if (t.type != Tok::kIdent || t.text.size() != kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

// Words that cannot be bare column names (quote them: "order").
bool IsReserved(const Token& t) {
  static const char* const kWords[] = {"AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "BETWEEN",
                                       "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END",
                                       "ESCAPE"};
  for (const char* w : kWords) {
    if (IsKeyword(t, w)) return true;
  }
  return false;
}

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kEnd: return "end of expression";
    case Tok::kIdent: return "'" + t.text + "'";
    case Tok::kQuotedIdent: return "\"" + t.text + "\"";
    case Tok::kInt:
    case Tok::kNumber: return "number " + t.text;
    case Tok::kString: return "string '" + t.text + "'";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kComma: return "','";
    case Tok::kPlus: return "'+'";
    case Tok::kMinus: return "'-'";
    case Tok::kStar: return "'*'";
    case Tok::kSlash: return "'/'";
    case Tok::kPercent: return "'%'";
    case Tok::kConcat: return "'||'";
    case Tok::kEq: return "'='";
    case Tok::kNe: return "'!='";
    case Tok::kLt: return "'<'";
    case Tok::kLe: return "'<='";
    case Tok::kGt: return "'>'";
    case Tok::kGe: return "'>='";
  }
  return "token";
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> toks) : text_(text), toks_(std::move(toks)) {}

  Result<NodePtr> ParseAll() {
    ASSIGN_OR_RETURN(NodePtr n, Or());
    if (Peek().type != Tok::kEnd) {
      return ErrorAt(text_, Peek().pos, "unexpected " + Describe(Peek()));
    }
    return n;
  }

 private:
  const Token& Peek(size_t k = 0) const { return toks_[std::min(p_ + k, toks_.size() - 1)]; }
  const Token& Next() { return toks_[p_ < toks_.size() - 1 ? p_++ : p_]; }
  bool AcceptKw(std::string_view kw) {
    if (!IsKeyword(Peek(), kw)) return false;
    ++p_;
    return true;
  }
  Status Expect(Tok type, std::string_view what) {
    if (Peek().type != type) return ErrorAt(text_, Peek().pos, "expected " + std::string(what));
    ++p_;
    return Status::OK();
  }
  Status ExpectKw(std::string_view kw) {
    if (!AcceptKw(kw)) return ErrorAt(text_, Peek().pos, "expected " + std::string(kw));
    return Status::OK();
  }

  static NodePtr Make(NodeKind kind, int pos, std::vector<NodePtr> args, Op op = Op::kAdd,
                      bool negated = false) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->pos = pos;
    n->args = std::move(args);
    n->op = op;
    n->negated = negated;
    return n;
  }

  Result<NodePtr> Or() {
    ASSIGN_OR_RETURN(NodePtr l, And());
    while (IsKeyword(Peek(), "OR")) {
      int pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr r, And());
      l = Make(NodeKind::kBinary, pos, {l, r}, Op::kOr);
    }
    return l;
  }

  Result<NodePtr> And() {
    ASSIGN_OR_RETURN(NodePtr l, Not());
    while (IsKeyword(Peek(), "AND")) {
      int pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr r, Not());
      l = Make(NodeKind::kBinary, pos, {l, r}, Op::kAnd);
    }
    return l;
  }

  Result<NodePtr> Not() {
    if (IsKeyword(Peek(), "NOT")) {
      int pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr e, Not());
      return Make(NodeKind::kUnary, pos, {e}, Op::kNot);
    }
    return Predicate();
  }

  // comparison, IS [NOT] NULL, [NOT] IN, [NOT] LIKE, [NOT] BETWEEN: one per level, no chains.
  Result<NodePtr> Predicate() {
    ASSIGN_OR_RETURN(NodePtr l, Additive());
    const Token& t = Peek();
    Op op;
    switch (t.type) {
      case Tok::kEq: op = Op::kEq; break;
      case Tok::kNe: op = Op::kNe; break;
      case Tok::kLt: op = Op::kLt; break;
      case Tok::kLe: op = Op::kLe; break;
      case Tok::kGt: op = Op::kGt; break;
      case Tok::kGe: op = Op::kGe; break;
      default: return Postfix(std::move(l));
    }
    int pos = Next().pos;
    ASSIGN_OR_RETURN(NodePtr r, Additive());
    return Make(NodeKind::kBinary, pos, {l, r}, op);
  }

  Result<NodePtr> Postfix(NodePtr l) {
    if (IsKeyword(Peek(), "IS")) {
      int pos = Next().pos;
      bool neg = AcceptKw("NOT");
      RETURN_IF_ERROR(ExpectKw("NULL"));
      return Make(NodeKind::kIsNull, pos, {l}, Op::kAdd, neg);
    }
    bool neg = false;
    int pos = Peek().pos;
    if (IsKeyword(Peek(), "NOT") &&
        (IsKeyword(Peek(1), "IN") || IsKeyword(Peek(1), "LIKE") || IsKeyword(Peek(1), "BETWEEN"))) {
      ++p_;
      neg = true;
    }
    if (!neg) pos = Peek().pos;
    if (AcceptKw("IN")) {
      RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' after IN"));
      std::vector<NodePtr> args{l};
      while (true) {
        ASSIGN_OR_RETURN(NodePtr item, Additive());
        args.push_back(std::move(item));
        if (Peek().type == Tok::kComma) {
          ++p_;
          continue;
        }
        RETURN_IF_ERROR(Expect(Tok::kRParen, "',' or ')'"));
        break;
      }
      return Make(NodeKind::kIn, pos, std::move(args), Op::kAdd, neg);
    }
    if (AcceptKw("LIKE")) {
      ASSIGN_OR_RETURN(NodePtr pat, Additive());
      std::vector<NodePtr> args{l, pat};
      if (IsKeyword(Peek(), "ESCAPE")) {
        ++p_;
        if (Peek().type != Tok::kString || Peek().text.size() != 1) {
          return ErrorAt(text_, Peek().pos, "expected a one-character string after ESCAPE");
        }
        ASSIGN_OR_RETURN(NodePtr esc, Primary());
        args.push_back(std::move(esc));
      }
      return Make(NodeKind::kLike, pos, std::move(args), Op::kAdd, neg);
    }
    if (AcceptKw("BETWEEN")) {
      ASSIGN_OR_RETURN(NodePtr lo, Additive());
      RETURN_IF_ERROR(ExpectKw("AND"));
      ASSIGN_OR_RETURN(NodePtr hi, Additive());
      return Make(NodeKind::kBetween, pos, {l, lo, hi}, Op::kAdd, neg);
    }
    if (neg) return ErrorAt(text_, Peek().pos, "expected IN, LIKE or BETWEEN after NOT");
    return l;
  }

  Result<NodePtr> Additive() {
    ASSIGN_OR_RETURN(NodePtr l, Multiplicative());
    while (true) {
      Op op;
      switch (Peek().type) {
        case Tok::kPlus: op = Op::kAdd; break;
        case Tok::kMinus: op = Op::kSub; break;
        case Tok::kConcat: op = Op::kConcat; break;
        default: return l;
      }
      int pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr r, Multiplicative());
      l = Make(NodeKind::kBinary, pos, {l, r}, op);
    }
  }

  Result<NodePtr> Multiplicative() {
    ASSIGN_OR_RETURN(NodePtr l, Unary());
    while (true) {
      Op op;
      switch (Peek().type) {
        case Tok::kStar: op = Op::kMul; break;
        case Tok::kSlash: op = Op::kDiv; break;
        case Tok::kPercent: op = Op::kMod; break;
        default: return l;
      }
      int pos = Next().pos;
      ASSIGN_OR_RETURN(NodePtr r, Unary());
      l = Make(NodeKind::kBinary, pos, {l, r}, op);
    }
  }

  Result<NodePtr> Unary() {
    if (Peek().type == Tok::kPlus) {
      ++p_;
      return Unary();
    }
    if (Peek().type == Tok::kMinus) {
      int pos = Next().pos;
      // A negative number literal, so that -9223372036854775808 fits.
      if ((Peek().type == Tok::kInt || Peek().type == Tok::kNumber)) {
        Token t = Next();
        t.text = "-" + t.text;
        t.pos = pos;
        return NumberLiteral(t);
      }
      ASSIGN_OR_RETURN(NodePtr e, Unary());
      return Make(NodeKind::kUnary, pos, {e}, Op::kNeg);
    }
    return Primary();
  }

  Result<NodePtr> NumberLiteral(const Token& t) {
    auto n = std::make_shared<Node>();
    n->kind = NodeKind::kLiteral;
    n->pos = t.pos;
    Literal& lit = n->literal;
    if (t.type == Tok::kInt) {
      if (ParseInt64(t.text, &lit.i)) {
        lit.type = {Kind::kInt64};
        return NodePtr(n);
      }
    }
    // 1.25 is an exact decimal; 1.5e3 and numbers beyond 38 digits are float64.
    size_t dot = t.text.find('.');
    bool exp = t.text.find_first_of("eE") != std::string::npos;
    size_t digits = 0;
    for (char c : t.text) digits += std::isdigit(static_cast<unsigned char>(c)) ? 1 : 0;
    if (!exp && digits <= 38) {
      int scale = dot == std::string::npos ? 0 : static_cast<int>(t.text.size() - dot - 1);
      if (ParseDecimal(t.text, 38, scale, &lit.d)) {
        lit.type = {Kind::kDecimal, static_cast<uint8_t>(scale)};
        return NodePtr(n);
      }
    }
    if (!ParseFloat64(t.text, &lit.f)) return ErrorAt(text_, t.pos, "invalid number " + t.text);
    lit.type = {Kind::kFloat64};
    return NodePtr(n);
  }

  Result<NodePtr> Primary() {
    const Token& t = Peek();
    auto lit = std::make_shared<Node>();
    lit->kind = NodeKind::kLiteral;
    lit->pos = t.pos;
    switch (t.type) {
      case Tok::kInt:
      case Tok::kNumber: return NumberLiteral(Next());
      case Tok::kString:
        lit->literal.type = {Kind::kString};
        lit->literal.s = Next().text;
        return NodePtr(lit);
      case Tok::kLParen: {
        ++p_;
        ASSIGN_OR_RETURN(NodePtr e, Or());
        RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
        return e;
      }
      case Tok::kQuotedIdent: {
        auto n = std::make_shared<Node>();
        n->kind = NodeKind::kColumn;
        n->pos = t.pos;
        n->name = Next().text;
        n->quoted = true;
        return NodePtr(n);
      }
      case Tok::kIdent: break;
      default:
        return ErrorAt(text_, t.pos, "expected a value, column or function, got " + Describe(t));
    }
    if (IsKeyword(t, "NULL")) {
      ++p_;
      return NodePtr(lit);
    }
    if (IsKeyword(t, "TRUE") || IsKeyword(t, "FALSE")) {
      lit->literal.type = {Kind::kBool};
      lit->literal.b = IsKeyword(t, "TRUE");
      ++p_;
      return NodePtr(lit);
    }
    if (IsKeyword(t, "CASE")) return Case();
    // DATE '...', TIMESTAMP '...' and TIME '...' are typed literals; otherwise these are names.
    if ((IsKeyword(t, "DATE") || IsKeyword(t, "TIMESTAMP") || IsKeyword(t, "TIME")) &&
        Peek(1).type == Tok::kString) {
      const Token& kw = Next();
      const Token& s = Next();
      Literal& l = lit->literal;
      bool ok;
      if (IsKeyword(kw, "DATE")) {
        int32_t days = 0;
        ok = ParseDate(s.text, &days);
        l.i = days;
        l.type = {Kind::kDate};
      } else if (IsKeyword(kw, "TIME")) {
        ok = ParseTime(s.text, &l.i);
        l.type = {Kind::kTime};
      } else {
        bool zone = false;
        ok = ParseTimestamp(s.text, &l.i, &zone);
        l.type = {Kind::kTimestamp};
      }
      if (!ok) {
        return ErrorAt(text_, s.pos, "invalid " + ToLower(kw.text) + " '" + s.text + "'");
      }
      return NodePtr(lit);
    }
    if (IsReserved(t)) {
      return ErrorAt(text_, t.pos,
                     "expected a value, column or function, got keyword " + ToUpperAscii(t.text));
    }
    const Token& name = Next();
    auto n = std::make_shared<Node>();
    n->pos = name.pos;
    n->name = name.text;
    if (Peek().type != Tok::kLParen) {
      n->kind = NodeKind::kColumn;
      return NodePtr(n);
    }
    ++p_;
    n->kind = NodeKind::kCall;
    n->name = ToLower(n->name);
    if (Peek().type == Tok::kRParen) {
      ++p_;
      return NodePtr(n);
    }
    while (true) {
      ASSIGN_OR_RETURN(NodePtr a, Or());
      n->args.push_back(std::move(a));
      if (Peek().type == Tok::kComma) {
        ++p_;
        continue;
      }
      RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
      return NodePtr(n);
    }
  }

  // CASE WHEN c THEN v [WHEN ...] [ELSE v] END
  Result<NodePtr> Case() {
    auto n = std::make_shared<Node>();
    n->kind = NodeKind::kCase;
    n->pos = Next().pos;
    if (!IsKeyword(Peek(), "WHEN")) return ErrorAt(text_, Peek().pos, "expected WHEN");
    while (AcceptKw("WHEN")) {
      ASSIGN_OR_RETURN(NodePtr c, Or());
      RETURN_IF_ERROR(ExpectKw("THEN"));
      ASSIGN_OR_RETURN(NodePtr v, Or());
      n->args.push_back(std::move(c));
      n->args.push_back(std::move(v));
    }
    if (AcceptKw("ELSE")) {
      ASSIGN_OR_RETURN(NodePtr v, Or());
      n->args.push_back(std::move(v));
    }
    RETURN_IF_ERROR(ExpectKw("END"));
    return NodePtr(n);
  }

  static std::string ToUpperAscii(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  std::string_view text_;
  std::vector<Token> toks_;
  size_t p_ = 0;
};

void CollectColumns(const Node& n, std::vector<std::string>* out) {
  if (n.kind == NodeKind::kColumn) {
    for (const std::string& s : *out) {
      if (s == n.name) return;
    }
    out->push_back(n.name);
  }
  for (const NodePtr& a : n.args) CollectColumns(*a, out);
}

}  // namespace
}  // namespace expr_internal

Result<std::shared_ptr<const Expr>> ParseExpr(std::string_view text) {
  using namespace expr_internal;
  std::vector<Token> toks;
  RETURN_IF_ERROR(Lexer(text).Run(&toks));
  if (toks.size() == 1) return ErrorAt(text, 1, "empty expression");
  Parser p(text, std::move(toks));
  ASSIGN_OR_RETURN(NodePtr root, p.ParseAll());
  return std::make_shared<const Expr>(std::string(text), std::move(root));
}

std::vector<std::string> ReferencedColumns(const Expr& e) {
  std::vector<std::string> out;
  expr_internal::CollectColumns(e.root(), &out);
  return out;
}

}  // namespace sluice
