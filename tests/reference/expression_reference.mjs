// Runs face-api's own FaceExpressionNet (the original TensorFlow.js implementation) on raw RGB pixels, so that
// tests can compare faceorganizer.models.expression against it.
//
// Usage: node expression_reference.mjs <node_modules parent dir> <spec.json>
// The install dir must hold @vladmandic/face-api, @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm (what
// face-api's dist/face-api.node-wasm.js requires; no native download). spec.json:
//   {"backend": "cpu" | "wasm", "model_dir": "<dir with face_expression_model-weights_manifest.json>" (optional;
//    default: the package's own model/ folder),
//    "items": [{"file": "<raw uint8 H*W*3 RGB>", "height": H, "width": W,
//               "boxes": null | [[x, y, width, height], ...]}]}
// An item without boxes is fed to the net whole (face-api pads it to a square and resizes it to 112); an item
// with boxes goes through face-api's own extractFaceTensors first, as its detection pipeline does.
// Prints one JSON object: versions, backend and, per item, one list of 7 probabilities per face (face-api's
// label order).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [installDir, specPath] = process.argv.slice(2);
if (!installDir || !specPath) {
  console.error('usage: node expression_reference.mjs <install dir> <spec.json>');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(installDir), 'package.json'));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { tf } = faceapi;

const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const backend = spec.backend || 'cpu';
if (backend === 'wasm') {
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep));
}
await tf.setBackend(backend);
await tf.ready();

const modelDir = spec.model_dir
  || path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);

const results = [];
for (const item of spec.items) {
  const raw = fs.readFileSync(item.file);
  if (raw.length !== item.height * item.width * 3) throw new Error(`${item.file}: size does not match its shape`);
  // int32, as tf.node.decodeImage would give
  const image = tf.tensor3d(Int32Array.from(raw), [item.height, item.width, 3], 'int32');
  const faces = item.boxes
    ? await faceapi.extractFaceTensors(image, item.boxes.map(([x, y, w, h]) => new faceapi.Rect(x, y, w, h)))
    : [image];
  const probs = [];
  for (const face of faces) {
    const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(face);
    probs.push(faceapi.FACE_EXPRESSION_LABELS.map((label) => expressions[label]));
    if (face !== image) face.dispose();
  }
  image.dispose();
  results.push(probs);
}
process.stdout.write(JSON.stringify({
  faceapi: faceapi.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), labels: faceapi.FACE_EXPRESSION_LABELS,
  results,
}));
