library(testthat)
library(rlpsy)

test_check("rlpsy")
