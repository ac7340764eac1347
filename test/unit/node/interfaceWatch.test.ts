import { strict as assert } from 'node:assert';
import { InterfaceWatch } from '../../../server/src/node/interfaceWatch';
import { pickInterfaceAddress } from '../../../server/src/node/networkOptions';
import { ManualClock } from '../../support/manualClock';

type Interfaces = Record<string, { address: string; family: string; internal: boolean }[]>;

/** os.networkInterfaces() as a laptop would report it. */
const lo = [{ address: '127.0.0.1', family: 'IPv4', internal: true }];
const wifi: Interfaces = { lo, wlan0: [{ address: '192.168.1.20', family: 'IPv4', internal: false }] };
const ethernet: Interfaces = { lo, eth0: [{ address: '10.0.0.7', family: 'IPv4', internal: false }] };
const docker = [{ address: '172.17.0.1', family: 'IPv4', internal: false }];

/** A watch over a machine whose interfaces the test changes. */
function watchOver(start: Interfaces, requested = '') {
  const clock = new ManualClock();
  const machine = { interfaces: start };
  const changes: string[] = [];
  const pick = (wanted: string) => pickInterfaceAddress(wanted, machine.interfaces as never);
  const addresses = () => Object.values(machine.interfaces).flatMap((infos) => infos.map((info) => info.address));
  const watch = new InterfaceWatch({ requested, current: pick(requested), clock, pick, addresses, onChange: (address) => changes.push(address) });
  void watch.start();
  return { clock, machine, changes, watch };
}

describe('interface watch', () => {
  it('moves at the next look when the address in use is gone (Wi-Fi to Ethernet), once', () => {
    const { clock, machine, changes, watch } = watchOver(wifi);
    clock.advance(20_000);
    assert.deepEqual(changes, []);
    machine.interfaces = ethernet;
    clock.advance(5000);
    assert.deepEqual(changes, ['10.0.0.7']);
    clock.advance(20_000);
    assert.deepEqual(changes, ['10.0.0.7'], 'the node starts a new watch with its new network');
    void watch.stop();
  });

  it('back from a fallback (a Wi-Fi blip left it on a bridge) only once the better address has held for three looks', () => {
    const { clock, machine, changes, watch } = watchOver({ lo, docker0: docker });
    // Wi-Fi flaps: the better address comes and goes; the bridge address never left.
    for (let i = 0; i < 4; i++) {
      machine.interfaces = { lo, wlan0: wifi.wlan0!, docker0: docker };
      clock.advance(5000);
      machine.interfaces = { lo, docker0: docker };
      clock.advance(5000);
    }
    assert.deepEqual(changes, [], 'no restart per blip');
    machine.interfaces = { lo, wlan0: wifi.wlan0!, docker0: docker };
    clock.advance(10_000);
    assert.deepEqual(changes, []);
    clock.advance(5000);
    assert.deepEqual(changes, ['192.168.1.20']);
    void watch.stop();
  });

  it('waits for a named interface that is gone, and follows its new address when it is back', () => {
    const { clock, machine, changes, watch } = watchOver(wifi, 'wlan0');
    machine.interfaces = ethernet;
    clock.advance(30_000);
    assert.deepEqual(changes, [], 'wlan0 is gone: nothing to move to');
    machine.interfaces = { lo, wlan0: [{ address: '172.20.10.3', family: 'IPv4', internal: false }] };
    clock.advance(5000);
    assert.deepEqual(changes, ['172.20.10.3']);
    void watch.stop();
  });

  it('never moves an interface given as an address, and stop cancels its timer', () => {
    const clock = new ManualClock();
    let picks = 0;
    const fixed = new InterfaceWatch({ requested: '192.168.1.20', current: '192.168.1.20', clock, pick: () => (picks++, '10.0.0.7'), addresses: () => [], onChange: () => assert.fail('moved') });
    void fixed.start();
    clock.advance(60_000);
    assert.equal(picks, 0);
    const automatic = new InterfaceWatch({ requested: '', current: '192.168.1.20', clock, pick: () => (picks++, '10.0.0.7'), addresses: () => [], onChange: () => assert.fail('moved after stop') });
    void automatic.start();
    void automatic.stop();
    clock.advance(60_000);
    assert.equal(picks, 0);
  });
});
