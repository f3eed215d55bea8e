#include "config/options.h"

#include <algorithm>

#include "core/strings.h"

namespace sluice {

const char* OptionTypeName(OptionType t) {
  switch (t) {
    case OptionType::kString: return "string";
    case OptionType::kInt: return "integer";
    case OptionType::kBool: return "bool";
    case OptionType::kDuration: return "duration";
    case OptionType::kSize: return "size";
    case OptionType::kEnum: return "enum";
    case OptionType::kStringList: return "list";
    case OptionType::kMap: return "map";
    case OptionType::kAny: return "any";
  }
  return "any";
}

namespace {
std::string Suggest(const std::string& key, const OptionSchema& schema) {
  std::string best;
  size_t best_d = 3;
  for (const auto& o : schema) {
    size_t d = EditDistance(key, o.name);
    if (d < best_d) {
      best_d = d;
      best = o.name;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

Status CheckType(const ConfigNode& v, const OptionSpec& spec) {
  if (v.IsNull()) return Status::OK();
  switch (spec.type) {
    case OptionType::kString: return v.AsString().status();
    case OptionType::kInt: return v.AsInt().status();
    case OptionType::kBool: return v.AsBool().status();
    case OptionType::kDuration: return v.AsSeconds().status();
    case OptionType::kSize: return v.AsBytes().status();
    case OptionType::kStringList: return v.AsStringList().status();
    case OptionType::kMap:
      if (!v.IsMap()) return Status::InvalidArgument(v.Where() + ": expected a map");
      return Status::OK();
    case OptionType::kEnum: {
      ASSIGN_OR_RETURN(std::string s, v.AsString());
      if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
        return Status::InvalidArgument(v.Where() + ": " + v.Shown() + " is not one of " + Join(spec.choices, ", "));
      }
      return Status::OK();
    }
    case OptionType::kAny: return Status::OK();
  }
  return Status::OK();
}
}  // namespace

Status ValidateOptions(const ConfigNode& block, const OptionSchema& schema,
                       const std::vector<std::string>& ignore) {
  if (!block.IsMap()) return Status::InvalidArgument(block.Where() + ": expected a map of options");
  for (const auto& [key, value] : block.entries()) {
    if (std::find(ignore.begin(), ignore.end(), key) != ignore.end()) continue;
    auto it = std::find_if(schema.begin(), schema.end(), [&](const OptionSpec& o) { return o.name == key; });
    if (it == schema.end()) {
      std::string where = value.path().empty() ? key : value.Where();
      return Status::InvalidArgument(where + ": unknown key '" + key + "'" + Suggest(key, schema));
    }
    RETURN_IF_ERROR(CheckType(value, *it));
  }
  for (const auto& o : schema) {
    if (o.required && block.Find(o.name) == nullptr) {
      std::string where = block.path().empty() ? o.name : block.path() + "." + o.name;
      return Status::InvalidArgument(where + ": required option is missing (" + o.doc + ")");
    }
  }
  return Status::OK();
}

const OptionSpec* Options::Spec(const std::string& name) const {
  for (const auto& o : *schema_) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

bool Options::Has(const std::string& name) const {
  const ConfigNode* n = block_ ? block_->Find(name) : nullptr;
  return n && !n->IsNull();
}

const ConfigNode* Options::Node(const std::string& name) const {
  return block_ ? block_->Find(name) : nullptr;
}

std::string Options::GetString(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsString();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  return s ? s->default_value : "";
}

int64_t Options::GetInt(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsInt();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  auto d = ConfigNode::Scalar(s ? s->default_value : "0").AsInt();
  return d.ok() ? *d : 0;
}

bool Options::GetBool(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsBool();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  return s && s->default_value == "true";
}

double Options::GetSeconds(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsSeconds();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  auto d = ParseDurationSeconds(s && !s->default_value.empty() ? s->default_value : "0");
  return d.ok() ? *d : 0;
}

int64_t Options::GetBytes(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsBytes();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  auto d = ParseByteSize(s && !s->default_value.empty() ? s->default_value : "0");
  return d.ok() ? *d : 0;
}

std::vector<std::string> Options::GetList(const std::string& name) const {
  if (Has(name)) {
    auto r = block_->Find(name)->AsStringList();
    if (r.ok()) return *r;
  }
  const OptionSpec* s = Spec(name);
  if (!s || s->default_value.empty()) return {};
  return Split(s->default_value, ',');
}

}  // namespace sluice
