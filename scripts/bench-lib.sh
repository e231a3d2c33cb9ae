# Shared by the pinned benchmark scripts (bench-pipeline.sh,
# bench-searchable.sh): sourced, not run.

# busy prints how busy the whole machine is, in percent, over 2 s.
busy() {
	local a b
	read -r -a a < <(grep '^cpu ' /proc/stat); sleep 2; read -r -a b < <(grep '^cpu ' /proc/stat)
	awk -v u="$(((b[1] + b[2] + b[3] + b[6] + b[7]) - (a[1] + a[2] + a[3] + a[6] + a[7])))" \
		-v i="$(((b[4] + b[5]) - (a[4] + a[5])))" 'BEGIN { printf "%.0f", 100*u/(u+i) }'
}

# ticks prints a process's CPU time (user + sys) in clock ticks; the
# command name in /proc/PID/stat may hold spaces, so fields count after it.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
