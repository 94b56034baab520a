// A small HTTPS admission webhook for kubectl_e2e.sh (AdmissionReview admission.k8s.io/v1).
// usage: node test_webhook.js CERT KEY LOG
// Prints the port it listens on (127.0.0.1, port 0) and appends each request as one JSON line
// {path, review} to LOG. Paths:
//   /validate        denies objects labelled deny=true (status code 403, reason Forbidden),
//                    allows the rest with a warning
//   /mutate          adds the label mutated=yes with a JSONPatch
//   /bad-uid         answers with another uid
//   /validate-patch  allows, but with a patch (not allowed for validating webhooks)
//   /slow            answers after 3 s
'use strict';
const fs = require('fs');
const https = require('https');

const [cert, key, log] = process.argv.slice(2);

function answer(path, request) {
  const labels = (request.object && request.object.metadata && request.object.metadata.labels) || {};
  const response = { uid: request.uid, allowed: true };
  if (path === '/validate') {
    if (labels.deny === 'true') {
      response.allowed = false;
      response.status = { code: 403, reason: 'Forbidden', message: `${request.kind.kind} ${request.name} carries deny=true` };
    } else {
      response.warnings = [`checked by the test webhook (${request.operation})`];
    }
  } else if (path === '/mutate') {
    const ops = request.object.metadata.labels
      ? [{ op: 'add', path: '/metadata/labels/mutated', value: 'yes' }]
      : [{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }];
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  } else if (path === '/bad-uid') {
    response.uid = 'not-the-request-uid';
  } else if (path === '/validate-patch') {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from('[]').toString('base64');
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const url = new URL(req.url, 'https://webhook');
    const review = JSON.parse(body);
    fs.appendFileSync(log, JSON.stringify({ path: url.pathname, query: url.search,
      contentType: req.headers['content-type'], review }) + '\n');
    const send = () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer(url.pathname, review.request)));
    };
    if (url.pathname === '/slow') setTimeout(send, 3000);
    else send();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
