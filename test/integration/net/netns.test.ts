/**
 * The namespace helper itself: three namespaces on a bridge reach each other, a cut link is cut,
 * a restored one works again, and nothing is left behind. Needs root and `ip netns` (CI is root):
 * without them it fails with a clear message rather than skipping.
 * (Mesh nodes across namespaces run as processes through the CLI: see the process tests.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NamespaceLab, namespacesAvailable } from './support/netns';

describe('network namespace lab (root)', function () {
  this.timeout(30_000);
  before(() => {
    if (!namespacesAvailable()) {
      throw new Error(`network namespace tests need root and a working "ip netns" (uid ${process.getuid?.() ?? '?'}); run them as root (CI does)`);
    }
  });

  it('connects 3 namespaces on a bridge, cuts and restores one link, and cleans up', async () => {
    const lab = await NamespaceLab.create(3);
    try {
      assert.ok(lab.reachable(0, 1));
      assert.ok(lab.reachable(2, 0));
      await lab.cut(1);
      assert.ok(!lab.reachable(0, 1, 500));
      await lab.restore(1);
      let reached = false;
      // The bridge port needs a moment to forward again.
      for (let attempt = 0; attempt < 10 && !reached; attempt++) reached = lab.reachable(0, 1);
      assert.ok(reached);
    } finally {
      await lab.destroy();
    }
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!left.includes(lab.tag), left);
  });
});
