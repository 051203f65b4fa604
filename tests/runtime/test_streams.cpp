// The translator's automatic choice of parallel batch streams.
#include <doctest/doctest.h>

#include "runtime/translator.h"

using qtool::runtime::choose_streams;

TEST_CASE("choose_streams: a requested count is kept") {
  CHECK(choose_streams(3, 1, 1, 1) == 3);
  CHECK(choose_streams(1, 100, 32, 4) == 1);
}

TEST_CASE("choose_streams: automatic gives one stream per thread only for batch throughput") {
  CHECK(choose_streams(0, 100, 32, 1) == 1);  // one thread: nothing to share
  CHECK(choose_streams(0, 100, 1, 2) == 1);   // batches of one sentence: latency, every thread on it
  CHECK(choose_streams(0, 3, 32, 2) == 1);    // under two batches per thread: one stream would idle
  CHECK(choose_streams(0, 4, 32, 2) == 2);
  CHECK(choose_streams(0, 35, 2, 2) == 2);
  CHECK(choose_streams(0, 35, 32, 4) == 4);
  CHECK(choose_streams(0, 7, 32, 4) == 1);
}
