#!/usr/bin/env node
// Every value in charts/flink-operator/values.yaml is declared in values.schema.json (helm
// validates values against the schema, but only declared keys get a type and a description):
// each key path resolves to a schema node, top-level keys have a description, and objects that
// list their properties forbid others (a typo in --set fails instead of being ignored).
// Pass-through Kubernetes objects (securityContext, affinity, ...) are `type: object` without
// properties. Each further VALUES file (the Apache operator chart's values) is walked the same
// way: every key it sets is declared, with its type, not merely let through.
// usage: check_values_schema.js CHART_DIR [VALUES.yaml...]   (js-yaml on NODE_PATH)
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const [dir, ...extra] = process.argv.slice(2);
const values = yaml.load(fs.readFileSync(path.join(dir, 'values.yaml'), 'utf8'));
const schema = JSON.parse(fs.readFileSync(path.join(dir, 'values.schema.json'), 'utf8'));
const errors = [];

const resolve = (node) => {
  while (node && node.$ref) {
    const parts = node.$ref.replace(/^#\//, '').split('/');
    let n = schema;
    for (const p of parts) n = n[p];
    node = { ...n, ...Object.fromEntries(Object.entries(node).filter(([k]) => k !== '$ref')) };
  }
  return node;
};
const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
const typeOk = (v, t) => {
  if (!t) return true;
  const ts = Array.isArray(t) ? t : [t];
  const vt = typeOf(v);
  return ts.includes(vt) || (vt === 'integer' && ts.includes('number')) || (vt === 'object' && ts.includes('object'));
};

function walk(v, node, where) {
  node = resolve(node);
  if (!node) { errors.push(`${where}: not declared in values.schema.json`); return; }
  if (!typeOk(v, node.type)) errors.push(`${where}: value of type ${typeOf(v)}, schema says ${node.type}`);
  // additionalProperties: true, said explicitly, marks a Kubernetes object whose named
  // properties are typed and whose other fields pass through (an EnvVar, a Volume).
  if (node.properties && node.additionalProperties !== false && node.additionalProperties !== true && where !== '(root)') {
    errors.push(`${where}: lists properties but allows others (additionalProperties: false, or true for a Kubernetes object)`);
  }
  if (typeOf(v) === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const sub = node.properties && node.properties[k];
      if (sub) walk(child, sub, where === '(root)' ? k : `${where}.${k}`);
      else if (node.additionalProperties === true) continue;  // a Kubernetes object's other fields
      else if (node.properties || node.additionalProperties === false) errors.push(`${where}.${k}: not declared in values.schema.json`);
      else if (typeof node.additionalProperties === 'object') walk(child, node.additionalProperties, `${where}.${k}`);
      // else: a pass-through object (a Kubernetes type), anything goes below.
    }
  } else if (typeOf(v) === 'array' && node.items) {
    v.forEach((item, i) => walk(item, node.items, `${where}[${i}]`));
  }
}

if (schema.additionalProperties !== false) errors.push('(root): additionalProperties must be false');
walk(values, schema, '(root)');
for (const f of extra) {
  const before = errors.length;
  walk(yaml.load(fs.readFileSync(f, 'utf8')) || {}, schema, '(root)');
  for (let i = before; i < errors.length; i++) errors[i] = `${path.basename(f)}: ${errors[i]}`;
}
for (const [k, node] of Object.entries(schema.properties)) {
  if (!resolve(node).description && !node.description) errors.push(`${k}: no description in values.schema.json`);
  if (!(k in values) && k !== 'global') errors.push(`${k}: declared in the schema but not in values.yaml`);
}
if (errors.length) {
  console.log(`FAIL: values.schema.json:\n- ${errors.join('\n- ')}`);
  process.exit(1);
}
console.log(`ok values.schema.json declares all ${Object.keys(values).length} top-level values and everything below them` +
            (extra.length ? `, and every key of ${extra.map((f) => path.basename(f)).join(', ')}` : ''));
