#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, to run experiments/slurm.sbatch for real.
#
#   sudo tools/slurm-local.sh start     install (Debian/Ubuntu: slurm-wlm + munge) if missing,
#                                       write /etc/slurm/slurm.conf, start munged, slurmctld,
#                                       slurmd; wait until the node is idle
#   sudo tools/slurm-local.sh stop      stop the daemons (state in /var/spool/slurm* is kept)
#   tools/slurm-local.sh status         sinfo + squeue
#
# Runs as root (the daemons and SlurmUser=root), without systemd (containers and VMs whose
# PID 1 is not systemd). The node gets this machine's cores and 90% of its memory; the
# partition `local` is the default and allows requeue. Process tracking is by process group
# (proctrack/pgid) and tasks are not bound (task/none): no cgroup setup is needed, which is
# what lets it run inside a container; a real cluster uses cgroups.
set -euo pipefail
cmd="${1:-start}"
conf_dir=/etc/slurm
conf="$conf_dir/slurm.conf"
node="$(hostname -s)"
log_dir=/var/log/slurm

install() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge
  fi
}

write_conf() {
  local cpus mem
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
  mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd "$log_dir" /run/munge
  cat >"$conf" <<EOF
# written by tools/slurm-local.sh: a one-node cluster on $node
ClusterName=xnas-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobRequeue=1
ReturnToService=2
SlurmctldTimeout=60
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=600
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  echo "wrote $conf (node $node: $cpus CPUs, $mem MiB)"
}

start() {
  [[ $(id -u) == 0 ]] || { echo "slurm-local.sh start: run as root" >&2; exit 2; }
  install
  write_conf
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
  pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
  pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
  for _ in $(seq 60); do
    state="$(sinfo -h -n "$node" -o %t 2>/dev/null || true)"
    if [[ $state == idle* || $state == mix* || $state == alloc* ]]; then
      sinfo
      return 0
    fi
    sleep 1
  done
  echo "slurm-local.sh: node $node did not come up; see $log_dir/slurmctld.log and slurmd.log" >&2
  exit 1
}

stop() {
  pkill -x slurmd || true
  pkill -x slurmctld || true
  pkill -x munged || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) sinfo && squeue ;;
  *) echo "usage: tools/slurm-local.sh start|stop|status" >&2; exit 2 ;;
esac
