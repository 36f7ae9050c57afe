// Top-k keeps the k highest logits.
#include <gtest/gtest.h>

#include "sampling/truncation.h"
#include "sampling_test_util.h"

namespace limarp {
namespace {
using namespace limarp::testing;

const std::vector<float> kTopKLogits = {0.5f, 3.0f, -1.0f, 2.0f, 1.0f};

TEST(TopK, KeepsTheKHighestInOrder) {
  auto s = make_top_k(2);
  EXPECT_EQ(ids(run(*s, kTopKLogits)), (std::vector<int32_t>{1, 3}));
}

TEST(TopK, KAboveSizeOrZeroIsOff) {
  auto big = make_top_k(10);
  EXPECT_EQ(run(*big, kTopKLogits).size(), 5u);
  auto off = make_top_k(0);
  EXPECT_EQ(run(*off, kTopKLogits).size(), 5u);
}

TEST(TopK, TiesKeepTheLowerId) {
  auto s = make_top_k(1);
  EXPECT_EQ(ids(run(*s, {1.0f, 2.0f, 2.0f})), (std::vector<int32_t>{1}));
}

TEST(TopK, AllMinusInfinityKeepsK) {
  auto s = make_top_k(2);
  EXPECT_EQ(ids(run(*s, {kNegInf, kNegInf, kNegInf})), (std::vector<int32_t>{0, 1}));
}

}  // namespace
}  // namespace limarp
