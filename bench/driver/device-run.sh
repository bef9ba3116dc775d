# The many-core run of bench/README.md ("Standalone C++ driver"), as run on
# the 16-core machine: build here, copy the static binary there, run this.
# Two runs of the pool runner at 10^7 decisions, threads free and pinned.
set -u
B=bench/driver/rlpsy-driver
O=${OUT:-.}
REPS=${REPS:-3}
lscpu > "$O/lscpu.txt" 2>&1
grep -i "model name\|socket\|core\|thread\|numa\|MHz" "$O/lscpu.txt"
for pin in 0 1; do
  timeout 240 $B --decisions 1e7 --threads-max 16 --reps "$REPS" --pin $pin > "$O/driver-1e7-pin$pin.md"
  echo "pin=$pin rc=$?"
  sed -n '/^| threads/,/^| 16/p' "$O/driver-1e7-pin$pin.md"
done
