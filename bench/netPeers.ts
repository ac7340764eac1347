/**
 * Bench helper process: opens N sessions to a hub (`tsx bench/netPeers.ts HOST:PORT N MESHKEYHEX`)
 * with the real Session class (Noise handshake, sealed frames, heartbeats), sends hello, prints
 * `{"ready":n}` once all are open, then holds them until stdin closes.
 */
import { Socket } from 'node:net';
import { createLocalHandshakeIdentity } from '../server/src/net/handshake';
import { Counters } from '../server/src/net/counters';
import { Session } from '../server/src/net/session';
import { systemClock } from '../server/src/kernel/clock';
import { generateIdentity } from '../server/src/kernel/identity';
import { silentLogger } from '../server/src/kernel/log';
import { deriveKey, parseMeshKey } from '../server/src/kernel/meshKey';

const [addr = '', countText = '0', keyHex = ''] = process.argv.slice(2);
const count = Number(countText);
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
const prologue = deriveKey(parseMeshKey(keyHex), 'noise-prologue');
const counters = new Counters();
const sessions: Session[] = [];
let open = 0;

function connect(index: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.connect(port, host);
    const local = createLocalHandshakeIdentity(generateIdentity().identity, index.toString(16).padStart(16, '0'), Date.now());
    const session = new Session({ socket, initiator: true, local, prologue, clock: systemClock, logger: silentLogger, counters, label: `peer-${index}` });
    session.once('open', () => {
      open++;
      session.send({ t: 'hello', name: `p${index}`, listen: '127.0.0.1:1', subs: [], multicast: false }, 'control');
      resolve();
    });
    session.once('close', (reason) => {
      if (session.peer === undefined) process.stderr.write(`peer ${index} failed: ${reason}\n`);
      resolve();
    });
    sessions.push(session);
  });
}

async function main(): Promise<void> {
  // A few handshakes at a time: the hub's CPU, not the kernel's backlog, is the limit.
  const parallel = 32;
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, i) => connect(start + i)));
  }
  process.stdout.write(`${JSON.stringify({ ready: open })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const session of sessions) session.close('stop', undefined, true);
    setTimeout(() => process.exit(0), 200);
  });
}

void main();
