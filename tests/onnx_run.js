// For tests/test_onnx_export.sh: runs MODEL.onnx with onnxruntime-node on DIR/case<i>.in and compares
// with our output DIR/case<i>.out; prints the largest absolute difference per case and exits 1 if
// any is above 1e-4 (or the output shape differs).  node onnx_run.js MODEL DIR CASES
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [model, dir, cases] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model);
  let ok = true;
  for (let i = 0; i < Number(cases); i++) {
    const s = fs.readFileSync(`${dir}/case${i}.shape`, "utf8").trim().split(/\s+/).map(Number);
    const read = (f) => { const b = fs.readFileSync(f); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
    const x = new ort.Tensor("float32", read(`${dir}/case${i}.in`), s.slice(0, 4));
    const t0 = process.hrtime.bigint();
    const y = (await session.run({ input: x })).output;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const want = read(`${dir}/case${i}.out`);
    const sameShape = y.dims.join(",") === s.slice(4).join(",");
    let worst = sameShape ? 0 : Infinity;
    if (sameShape) for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(y.data[k] - want[k]));
    console.log(`case ${i}: input ${s.slice(0, 4).join("x")}, output ${y.dims.join("x")}, ` +
                `largest |onnxruntime - ours| = ${worst.toExponential(2)}, ${ms.toFixed(1)} ms`);
    if (!(worst <= 1e-4)) ok = false;
  }
  process.exit(ok ? 0 : 1);
}
main().catch((e) => { console.error(e); process.exit(1); });
