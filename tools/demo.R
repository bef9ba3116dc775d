# The main job: a demo on the bundled example data.
library(rlpsy)
data(rlpsy_example, package = "rlpsy")
cat("rlpsy", format(utils::packageVersion("rlpsy")), "demo on the bundled example data\n\n")
str(rlpsy_example)
dec <- rlpsy_data(rlpsy_example, participant = "participant", state = "state",
                  action = "action", next_state = "next_state", done = "done",
                  reward = "reward")
print(dec)
