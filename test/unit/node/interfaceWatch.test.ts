import { strict as assert } from 'node:assert';
import { InterfaceWatch } from '../../../server/src/node/interfaceWatch';
import { pickInterfaceAddress } from '../../../server/src/node/networkOptions';
import { ManualClock } from '../../support/manualClock';

/** os.networkInterfaces() as a laptop would report it. */
const wifi = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }], wlan0: [{ address: '192.168.1.20', family: 'IPv4', internal: false }] };
const ethernet = { lo: wifi.lo, eth0: [{ address: '10.0.0.7', family: 'IPv4', internal: false }] };

describe('interface watch', () => {
  it('says when the automatically chosen address changes (Wi-Fi to Ethernet), once, and not while it stays', () => {
    const clock = new ManualClock();
    let interfaces: Record<string, { address: string; family: string; internal: boolean }[]> = wifi;
    const changes: string[] = [];
    const pick = (requested: string) => pickInterfaceAddress(requested, interfaces as never);
    const watch = new InterfaceWatch({ requested: '', current: pick(''), clock, pick, onChange: (address) => changes.push(address) });
    void watch.start();
    clock.advance(20_000);
    assert.deepEqual(changes, []);
    interfaces = ethernet;
    clock.advance(5000);
    assert.deepEqual(changes, ['10.0.0.7']);
    clock.advance(20_000);
    assert.deepEqual(changes, ['10.0.0.7'], 'the node starts a new watch with its new network');
    void watch.stop();
  });

  it('waits for a named interface that is gone, and follows its new address when it is back', () => {
    const clock = new ManualClock();
    let interfaces: Record<string, { address: string; family: string; internal: boolean }[]> = wifi;
    const changes: string[] = [];
    const pick = (requested: string) => pickInterfaceAddress(requested, interfaces as never);
    const watch = new InterfaceWatch({ requested: 'wlan0', current: '192.168.1.20', clock, pick, onChange: (address) => changes.push(address) });
    void watch.start();
    interfaces = ethernet;
    clock.advance(30_000);
    assert.deepEqual(changes, [], 'wlan0 is gone: nothing to move to');
    interfaces = { lo: wifi.lo, wlan0: [{ address: '172.20.10.3', family: 'IPv4', internal: false }] };
    clock.advance(5000);
    assert.deepEqual(changes, ['172.20.10.3']);
    void watch.stop();
  });

  it('never moves an interface given as an address, and stop cancels its timer', () => {
    const clock = new ManualClock();
    let picks = 0;
    const fixed = new InterfaceWatch({ requested: '192.168.1.20', current: '192.168.1.20', clock, pick: () => (picks++, '10.0.0.7'), onChange: () => assert.fail('moved') });
    void fixed.start();
    clock.advance(60_000);
    assert.equal(picks, 0);
    const automatic = new InterfaceWatch({ requested: '', current: '192.168.1.20', clock, pick: () => (picks++, '10.0.0.7'), onChange: () => assert.fail('moved after stop') });
    void automatic.start();
    void automatic.stop();
    clock.advance(60_000);
    assert.equal(picks, 0);
  });
});
