#include "quality/pii_policy.h"

#include <gtest/gtest.h>

#include "config/pipeline_config.h"

namespace sluice {
namespace {

std::vector<ColumnMask> Masks(const std::string& yaml) {
  auto node = ParseYaml(yaml, "t");
  EXPECT_TRUE(node.ok());
  auto masks = ParseMaskTransforms(*node);
  EXPECT_TRUE(masks.ok()) << masks.status().ToString();
  return masks.ok() ? *masks : std::vector<ColumnMask>{};
}

TEST(PiiPolicy, MasksBatchesAndRedactsRejectedRowsWithoutLeakingValues) {
  PiiPolicy policy(Masks("[{type: mask, columns: [email], method: hash, key: k0123456789abcdef}, {type: mask, columns: [ssn], method: drop}]"),
                   {"email", "phone"});
  RejectedRow r;
  r.raw = R"({"id":1,"email":"ada@example.com","phone":"+14155550100","ssn":"123-45-6789"})";
  r.reason = "column 'email': 'ada@example.com' does not match x; column 'phone': '+14155550100' is too long";
  policy.Redact(r);
  EXPECT_EQ(r.raw.find("ada@example.com"), std::string::npos) << r.raw;
  EXPECT_EQ(r.raw.find("+14155550100"), std::string::npos) << r.raw;
  EXPECT_EQ(r.raw.find("ssn"), std::string::npos) << r.raw;
  EXPECT_NE(r.raw.find("\"phone\":\"[REDACTED]\""), std::string::npos) << r.raw;
  EXPECT_EQ(r.reason, "column 'email': '[REDACTED]' does not match x; column 'phone': '[REDACTED]' is too long");

  RejectedRow line;
  line.raw = "1,ada@example.com,broken";
  policy.Redact(line);
  EXPECT_EQ(line.raw, "[redacted: the row holds personal data in email, phone, ssn]");
}

TEST(PiiPolicy, TransformErrorsNameTheirPath) {
  auto node = ParseYaml("[{type: mask, columns: [a], method: hash}]", "t");
  ASSERT_TRUE(node.ok());
  auto masks = ParseMaskTransforms(*node);
  ASSERT_FALSE(masks.ok());
  node = ParseYaml("[{type: filter}]", "t");
  EXPECT_NE(ParseMaskTransforms(*node).status().message().find("unknown transform type"), std::string::npos);
}

}  // namespace
}  // namespace sluice
