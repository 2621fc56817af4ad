#!/usr/bin/env bash
# ctest's slurm_srun: a one-node Slurm of our own, then the srun cases of the test suite.
#   tests/test_slurm.sh <cg_tests>
# munged, slurmctld and slurmd start in a temporary folder (their keys, state, logs and pid files
# there; SLURM_CONF names the configuration, on private ports), the cases "srun*" run with
# --no-skip, and the daemons are stopped by the pids they wrote. Exits 77 (skipped) where Slurm or
# munge is not installed or this is not root (slurmd runs jobs as their users).
set -u
TESTS=$1
for p in munged slurmctld slurmd srun sinfo; do
  if ! command -v "$p" >/dev/null; then
    echo "skipped: $p is not installed (Debian: slurmctld slurmd slurm-client munge)"
    exit 77
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: a Slurm of our own needs root (slurmd)"
  exit 77
fi

T=$(mktemp -d /tmp/cg_slurm.XXXXXX)
stop() {
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/pid"; do
    [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/pid"; do
    [[ -s $f ]] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$T"
}
trap stop EXIT

# munge: a key of our own and a socket in the folder (no /run/munge needed)
mkdir -p "$T/munge" "$T/state" "$T/spool"
chmod 700 "$T/munge"
head -c 128 /dev/urandom >"$T/munge/munge.key"
chmod 400 "$T/munge/munge.key"
munged -f -S "$T/munge/sock" --key-file="$T/munge/munge.key" --log-file="$T/munge/log" \
  --pid-file="$T/munge/pid" --seed-file="$T/munge/seed" || { echo "munged did not start"; exit 1; }

HOST=$(hostname -s)
PORT=$((17000 + $$ % 2000))  # two ports of our own, away from Slurm's 6817/6818
cat >"$T/slurm.conf" <<CONF
ClusterName=cgtest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$HOST CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -c || { echo "slurmctld did not start"; cat "$T/slurmctld.log"; exit 1; }
slurmd || { echo "slurmd did not start"; cat "$T/slurmd.log"; exit 1; }
for _ in $(seq 60); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 0.5
done
if ! sinfo -h -o %t | grep -q idle; then
  echo "the node did not come up:"
  sinfo
  tail -n 20 "$T/slurmctld.log" "$T/slurmd.log"
  exit 1
fi
echo "== Slurm up: $(sinfo -h -o '%P %D %t %N'), SLURM_CONF=$SLURM_CONF"
"$TESTS" -tc='srun*' --no-skip
rc=$?
[[ $rc -ne 0 ]] && tail -n 30 "$T/slurmctld.log" "$T/slurmd.log"
exit $rc
