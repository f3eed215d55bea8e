#include "connectors/postgres/pg_source_state.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::pg {
namespace {

TEST(PgFullState, RoundTripsRangesAndTellsWhenDone) {
  FullState s;
  s.ranges.resize(2);
  s.ranges[0].hi = "500";
  s.ranges[0].last = KeyText{"499", std::nullopt};
  s.ranges[0].rows = 499;
  s.ranges[0].done = true;
  s.ranges[1].lo = "500";
  EXPECT_FALSE(s.Done());
  EXPECT_EQ(s.DoneRanges(), 1);
  auto back = FullState::FromJson(s.ToJson());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->ranges.size(), 2u);
  EXPECT_FALSE(back->ranges[0].lo);
  EXPECT_EQ(back->ranges[0].hi, "500");
  EXPECT_EQ(back->ranges[0].last, (KeyText{"499", std::nullopt}));
  EXPECT_EQ(back->ranges[0].rows, 499);
  EXPECT_TRUE(back->ranges[0].done);
  EXPECT_EQ(back->ranges[1].lo, "500");
  EXPECT_FALSE(back->ranges[1].last);
  back->ranges[1].done = true;
  EXPECT_TRUE(back->Done());

  EXPECT_FALSE(FullState::FromJson("{\"cursor\": 1}"));
  EXPECT_FALSE(FullState::FromJson("not json"));
  EXPECT_FALSE(FullState::FromJson("{\"ranges\": []}"));
}

long double Rank(const std::string& s) { return std::stold(s); }

TEST(PgIncrementalState, WindowRemembersForgetsAndRoundTrips) {
  IncrementalState s;
  s.last = KeyText{"20", "b"};
  s.Remember({"10", "a"}, 10);
  s.Remember({"20", "b"}, 20);
  // A key that spells another row's encoding must not match it.
  s.Remember({"1", "0a"}, 1);
  EXPECT_TRUE(s.Seen({"10", "a"}));
  EXPECT_FALSE(s.Seen({"10", "b"}));  // same cursor, other key: a different row
  EXPECT_FALSE(s.Seen({"11", "a"}));  // same key, other cursor: an update
  EXPECT_FALSE(s.Seen({"10a", ""}));
  s.ForgetBelow(10);
  EXPECT_EQ(s.window_size(), 2u);
  EXPECT_FALSE(s.Seen({"1", "0a"}));

  auto back = IncrementalState::FromJson(s.ToJson(), Rank);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->last, s.last);
  EXPECT_TRUE(back->Seen({"10", "a"}));
  EXPECT_TRUE(back->Seen({"20", "b"}));
  EXPECT_EQ(back->ToJson(), s.ToJson());  // deterministic text
  back->ForgetBelow(15);                  // ranks were rebuilt from the cursor text
  EXPECT_FALSE(back->Seen({"10", "a"}));
  EXPECT_TRUE(back->Seen({"20", "b"}));

  auto first = IncrementalState::FromJson("{\"last\": null, \"window\": []}", Rank);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->last);
  EXPECT_FALSE(IncrementalState::FromJson("{\"ranges\": []}", Rank));
}

TEST(PgNamedParams, BindsOnlyRealParameters) {
  auto q =
      BindNamedParams("SELECT * FROM t WHERE a > :cursor AND b::text <> ':cursor' AND c = :cursor");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->sql, "SELECT * FROM t WHERE a > $1 AND b::text <> ':cursor' AND c = $1");
  EXPECT_EQ(q->names, std::vector<std::string>{"cursor"});

  q = BindNamedParams(
      "SELECT \"x:y\", $$ :no $$, $tag$ it's :no $tag$, E'\\' :no', :a, :b_2 -- :no\n"
      "/* :no /* nested :no */ :no */ FROM t WHERE x = :a::int AND arr[1:2] = '{}'");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->sql,
            "SELECT \"x:y\", $$ :no $$, $tag$ it's :no $tag$, E'\\' :no', $1, $2 -- :no\n"
            "/* :no /* nested :no */ :no */ FROM t WHERE x = $1::int AND arr[1:2] = '{}'");
  EXPECT_EQ(q->names, (std::vector<std::string>{"a", "b_2"}));

  q = BindNamedParams("SELECT $1, x FROM t");  // positional parameters pass through
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->sql, "SELECT $1, x FROM t");
  EXPECT_TRUE(q->names.empty());

  EXPECT_FALSE(BindNamedParams("SELECT 'open").ok());
  EXPECT_FALSE(BindNamedParams("SELECT /* open").ok());
  EXPECT_FALSE(BindNamedParams("SELECT $x$ open").ok());
}

}  // namespace
}  // namespace sluice::pg
