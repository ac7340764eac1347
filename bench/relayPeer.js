// The scale bench's floor: a bare Node.js process that relays a message down a broadcast tree over
// plain TCP (no encryption, no signatures, no storage, no overlay). It prints
// {"event":"listening","port"} once bound; then, on stdin, {"op":"children","ports":[...]} dials
// its children in the tree the bench chose, and {"op":"send","id","text"} (the root) starts a
// message. Every node writes {"event":"message","id"} to stdout the first time it reads one, as the
// CLI's --jsonl does, and forwards it to its children. It exits when stdin closes.
'use strict';
const { createServer, connect } = require('node:net');
const { createInterface } = require('node:readline');

const children = [];
const seen = new Set();

function deliver(line) {
  const message = JSON.parse(line);
  if (seen.has(message.id)) return;
  seen.add(message.id);
  process.stdout.write(`${JSON.stringify({ event: 'message', id: message.id })}\n`);
  for (const child of children) child.write(`${line}\n`);
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  createInterface({ input: socket }).on('line', deliver);
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.address().port })}\n`));

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = JSON.parse(line);
    if (command.op === 'children') {
      for (const port of command.ports) {
        const socket = connect(port, '127.0.0.1');
        socket.setNoDelay(true);
        socket.on('error', () => undefined);
        children.push(socket);
      }
      process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
    } else if (command.op === 'send') {
      const line = JSON.stringify({ id: command.id, text: command.text });
      seen.add(command.id);
      process.stdout.write(`${JSON.stringify({ event: 'sent', id: command.id })}\n`);
      for (const child of children) child.write(`${line}\n`);
    }
  })
  .on('close', () => {
    for (const child of children) child.destroy();
    server.close();
    process.exit(0);
  });
