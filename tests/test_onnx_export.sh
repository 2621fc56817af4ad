#!/usr/bin/env bash
# cyclegan_export end to end: a ResNet generator with instance norm and a U-Net with batch norm (eval
# mode) are exported; onnx.checker accepts the models (Debian's python3-onnx); onnxruntime (the npm
# package onnxruntime-node) runs each on two input sizes, one not square, and its outputs match our
# own forward within 1e-4; a gray-to-colour generator declares 1 channel in and 3 out. The opset is 17
# unless --opset says otherwise (11 checked). A save interrupted after its commit is read from its .new
# files. Then the errors: an unknown generator, a missing checkpoint, an opset outside 11..17; nothing
# is written on failure.
# scripts/test.sh installs onnxruntime-node into BUILD/onnxruntime-node; where it, node, python3-onnx
# or cyclegan_export is missing this reports itself skipped (exit 77).
set -euo pipefail
SRC=$1 BIN=$2
ORT=${CG_ONNXRUNTIME_DIR:-$BIN/onnxruntime-node}
PY=/usr/bin/python3
if [[ ! -x $BIN/apps/cyclegan_export ]] || ! $PY -c "import onnx" 2>/dev/null || ! command -v node >/dev/null ||
  [[ ! -d $ORT/node_modules/onnxruntime-node ]]; then
  echo "SKIPPED: needs cyclegan_export (libonnx-dev), python3-onnx, node and onnxruntime-node in $ORT"
  # scripts/test.sh installs all of these: there a skip would hide a broken install, so it fails
  [[ -n ${CG_REQUIRE_ONNX:-} ]] && exit 1
  exit 77
fi
work=$BIN/test_tmp/onnx_export
rm -rf "$work" && mkdir -p "$work"

# $1 name, $2 netG, $3 norm, $4 ngf, $5 input_nc, $6 output_nc, $7... input sizes N,H,W
check() {
  local name=$1 netG=$2 norm=$3 ngf=$4 in_nc=$5 out_nc=$6
  shift 6
  local dir=$work/$name
  mkdir -p "$dir"
  mkdir -p "$dir/ckpt/exp"
  "$BIN/tests/onnx_reference" "$dir" "$netG" "$norm" "$ngf" "$in_nc" "$out_nc" "$@"
  "$BIN/apps/cyclegan_export" --checkpoints_dir "$dir/ckpt" --name exp --netG "$netG" --norm "$norm" \
    --ngf "$ngf" --input_nc "$in_nc" --output_nc "$out_nc" --output "$dir/g.onnx"
  $PY - "$dir/g.onnx" "$netG" "$in_nc" "$out_nc" <<'PYEOF'
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
names = {i.name for i in m.graph.initializer}
ops = sorted({n.op_type for n in m.graph.node})
want = {"model.1.weight", "model.1.bias"} if sys.argv[2].startswith("resnet") else \
       {"model.model.0.weight", "model.model.1.model.2.running_mean", "model.model.3.bias"}
missing = want - names
assert not missing, f"initializers lack the official names {missing}"
allowed = {"Conv", "ConvTranspose", "Pad", "InstanceNormalization", "BatchNormalization", "Relu", "LeakyRelu",
           "Tanh", "Add", "Concat"}
assert set(ops) <= allowed, f"non-standard ops {set(ops) - allowed}"
def dims(v):
    return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
assert dims(m.graph.input[0]) == ["N", int(sys.argv[3]), "H", "W"], dims(m.graph.input[0])
assert dims(m.graph.output[0]) == ["N", int(sys.argv[4]), "H", "W"], dims(m.graph.output[0])
assert m.opset_import[0].version == 17, f"default opset {m.opset_import[0].version}, not 17"
print(f"{sys.argv[1]}: onnx.checker passed; opset {m.opset_import[0].version}; ops {', '.join(ops)}")
PYEOF
  NODE_PATH=$ORT/node_modules node "$SRC/tests/onnx_run.js" "$dir/g.onnx" "$dir" "$#"
}
check resnet resnet_2blocks instance 4 3 3 1,32,32 2,24,40
check unet unet_128 batch 2 3 3 1,128,128 1,128,256
check gray_to_rgb resnet_1blocks instance 4 1 3 1,16,20
# --opset 11, the lowest accepted, is what the file declares and still passes the checker
"$BIN/apps/cyclegan_export" --checkpoints_dir "$work/resnet/ckpt" --name exp --netG resnet_2blocks --ngf 4 \
  --opset 11 --output "$work/opset11.onnx"
$PY -c "import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)
assert m.opset_import[0].version == 11, m.opset_import[0].version" "$work/opset11.onnx"

# errors: a clear message, exit 1, no file
fails() {  # $1: text the error must contain; the rest: the command
  local want=$1
  shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [[ $rc -ne 1 || $out != *"$want"* ]]; then
    echo "FAIL: expected exit 1 and '$want' from: $*"
    echo "got exit $rc: $out"
    exit 1
  fi
}
e=$BIN/apps/cyclegan_export
fails "--netG 'unet_64': generator model name is not recognized" "$e" --checkpoints_dir "$work/unet/ckpt" --name exp \
  --netG unet_64 --output "$work/bad.onnx"
fails "latest_net_G_A.safetensors' does not exist" "$e" --checkpoints_dir "$work/unet/ckpt" --name exp \
  --netG unet_128 --norm batch --ngf 2 --model_suffix _A --output "$work/bad.onnx"
fails "mis-shaped keys" "$e" --checkpoints_dir "$work/unet/ckpt" --name exp --netG unet_128 --norm batch --ngf 4 \
  --output "$work/bad.onnx"
for opset in 10 18; do
  fails "--opset must be in 11..17" "$e" --checkpoints_dir "$work/unet/ckpt" --name exp --netG unet_128 \
    --norm batch --ngf 2 --opset $opset --output "$work/bad.onnx"
done
# a save killed after its commit and before its renames: the journal lists the generator, whose new
# weights are still in .new while the old name holds a stale file (here unreadable). The export reads
# the committed weights, byte for byte the same model as before, and leaves the checkpoint as it was.
c=$work/resnet/ckpt/exp
mv "$c/latest_net_G.safetensors" "$c/latest_net_G.safetensors.new"
printf 'stale' >"$c/latest_net_G.safetensors"
echo latest_net_G.safetensors >"$c/latest_checkpoint.commit"
"$e" --checkpoints_dir "$work/resnet/ckpt" --name exp --netG resnet_2blocks --norm instance --ngf 4 \
  --output "$work/committed.onnx"
if ! cmp -s "$work/resnet/g.onnx" "$work/committed.onnx" || [[ ! -f $c/latest_net_G.safetensors.new ]] ||
  [[ ! -f $c/latest_checkpoint.commit ]]; then
  echo "FAIL: export of a committed but unrenamed save did not read the .new weights or changed the folder"
  exit 1
fi
if ls "$work"/bad.onnx* >/dev/null 2>&1; then
  echo "FAIL: a failed export left a file behind"
  exit 1
fi
echo "onnx export: all checks passed"
