import { strict as assert } from 'node:assert';
import { ComponentStartError, Lifecycle, type Component } from '../../../server/src/kernel/lifecycle';

function recorder(events: string[], name: string, failStart = false, failStop = false): Component {
  return {
    name,
    start: () => {
      events.push(`start ${name}`);
      return failStart ? Promise.reject(new Error(`${name} broke`)) : Promise.resolve();
    },
    stop: () => {
      events.push(`stop ${name}`);
      return failStop ? Promise.reject(new Error(`${name} stuck`)) : Promise.resolve();
    },
  };
}

describe('lifecycle', () => {
  it('starts in order and stops in reverse order', async () => {
    const events: string[] = [];
    const lifecycle = new Lifecycle([recorder(events, 'store'), recorder(events, 'net'), recorder(events, 'rooms')]);
    await lifecycle.start();
    assert.deepEqual(await lifecycle.stop(), []);
    assert.deepEqual(events, ['start store', 'start net', 'start rooms', 'stop rooms', 'stop net', 'stop store']);
  });

  it('stops what already started when a later component fails, and names the failure', async () => {
    const events: string[] = [];
    const lifecycle = new Lifecycle([recorder(events, 'store'), recorder(events, 'net', true), recorder(events, 'rooms')]);
    await assert.rejects(lifecycle.start(), (error: unknown) => {
      assert.ok(error instanceof ComponentStartError);
      assert.equal(error.message, 'net failed to start: net broke');
      return true;
    });
    assert.deepEqual(events, ['start store', 'start net', 'stop store']);
  });

  it('keeps stopping the rest when one stop fails', async () => {
    const events: string[] = [];
    const lifecycle = new Lifecycle([recorder(events, 'store'), recorder(events, 'net', false, true)]);
    await lifecycle.start();
    const errors = await lifecycle.stop();
    assert.deepEqual(errors.map((e) => e.message), ['net failed to stop: net stuck']);
    assert.deepEqual(events.slice(2), ['stop net', 'stop store']);
  });
});
