import { strict as assert } from 'node:assert';
import { signalAuthenticator, signalId, verifySignal } from '../../../server/src/academy/signing';
import { signalProblem } from '../../../server/src/academy/validate';
import { decode, encode } from '../../../server/src/net/codec';
import { generateIdentity } from '../../../server/src/kernel/identity';
import type { Signal } from '../../../protocol/academy';
import { persona, signed } from './support';

describe('academy/signing', () => {
  const alice = generateIdentity().identity;
  const mallory = generateIdentity().identity;
  const helper = persona(alice.nodeId, 'helper', 'Helper');

  it('signs with the node identity; the signal survives a MessagePack round trip and is well formed', () => {
    const signal = signed(alice, { persona: helper, messageId: 'X:2', reason: 'clear', context: { input: 'why?', actual: 'because' } });
    assert.equal(signal.signer, alice.nodeId);
    assert.equal(signal.id, signalId(signal));
    assert.equal(signalProblem(signal), undefined);
    const decoded = decode(encode(signal));
    assert.ok(decoded.ok);
    assert.ok(verifySignal(decoded.value as Signal));
  });

  it('refuses tampered content, a re-used id, another signer and a forged signer', () => {
    const signal = signed(alice, { persona: helper, value: -1 });
    assert.equal(verifySignal({ ...signal, value: 1 }), false, 'altered value (id no longer matches)');
    assert.equal(verifySignal({ ...signal, value: 1, id: signalId({ ...signal, value: 1 }) }), false, 'altered value with a fixed-up id');
    assert.equal(verifySignal({ ...signal, context: { input: 'other' } }), false);
    assert.equal(verifySignal({ ...signal, signature: Buffer.alloc(64).toString('base64') }), false);
    // Mallory signs a signal claiming to be Alice's: her key does not hash to Alice's id.
    const forged = signalAuthenticator(mallory).sign({ persona: helper, room: 'general', category: 'technical', value: 1, source: 'thumbs', context: { input: 'q' }, ts: 1 });
    assert.equal(verifySignal(forged), true);
    assert.equal(verifySignal({ ...forged, signer: alice.nodeId }), false);
    assert.equal(verifySignal({ ...forged, signer: alice.nodeId, signerKey: alice.publicKey.toString('base64') }), false);
  });

  it('rejects malformed signals before any crypto', () => {
    const signal = signed(alice, { persona: helper });
    assert.match(signalProblem({ ...signal, value: 2 }) ?? '', /value/);
    assert.match(signalProblem({ ...signal, category: 'charm' }) ?? '', /category/);
    assert.match(signalProblem({ ...signal, source: 'gossip' }) ?? '', /source/);
    assert.match(signalProblem({ ...signal, context: { input: 'x'.repeat(9000) } }) ?? '', /too long/);
    assert.match(signalProblem({ ...signal, persona: { ...helper, personaId: 'a/b' } }) ?? '', /personaId/);
    assert.match(signalProblem(null) ?? '', /object/);
  });
});
