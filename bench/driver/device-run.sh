# The many-core run of bench/README.md ("Standalone C++ driver"), as run on
# the 16-core machine: build here, copy the static binary there, run this.
set -u
B=bench/driver/rlpsy-driver
O=${OUT:-.}
lscpu > "$O/lscpu.txt" 2>&1
grep -i "model name\|socket\|core\|thread\|numa\|MHz" "$O/lscpu.txt"
timeout 300 $B --decisions 1e7 --threads-max 16 --reps 5 --runner pool > "$O/driver-1e7.md"
echo "rc=$?"
cat "$O/driver-1e7.md"
