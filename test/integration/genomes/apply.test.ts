/**
 * A LoRA genome made from the tiny test model's adapter travels from one node to another over a
 * real mesh session and is applied to a llama persona there: with the same seed, the persona's
 * reply in the room changes, and removing the genome gives the old reply back.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { ChatMessage } from '../../../protocol/rooms';
import { writeTinyFixture } from '../../fixtures/gguf/writer';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { loopbackNetwork, useMeshNodes } from '../support/meshNodes';

const meshKey = 'genome apply test key';

describe('applying a LoRA genome received from a peer (llama persona, tiny model)', function () {
  this.timeout(120_000);
  const dir = useTempDir('genome-apply-');
  const nodes = useMeshNodes();

  it("changes the persona's reply with the same seed, the persona file's loraScale sets its strength, and removing it takes the adapter away", async () => {
    const publisherDir = join(dir.path, 'publisher');
    mkdirSync(publisherDir);
    const fixture = writeTinyFixture(publisherDir);
    const personas = join(dir.path, 'personas');
    mkdirSync(personas);
    writeTinyFixture(personas);
    const personaFile = join(personas, 'tiny.persona.md');
    writeFileSync(
      personaFile,
      '---\nid: tiny\nname: Tiny\nbrain:\n  provider: llama\n  model: tiny.gguf\n  seed: 42\n  temperature: 0.8\n  maxTokens: 24\n  contextSize: 1024\nrooms: {general: expert}\nparticipation: {cooldownSeconds: 0}\n---\nYou are a tiny test model.\n',
    );

    const publisher = await nodes.start({ dataDir: join(dir.path, 'a'), meshKey, name: 'a', network: loopbackNetwork() });
    const host = await nodes.start({ dataDir: join(dir.path, 'b'), meshKey, name: 'b', network: loopbackNetwork([publisher.network!.listenAddress]), personaFolders: { workspaceFolders: [], extraFolders: [personas] } });
    await until('the session', () => (publisher.network!.upPeers().length === 1 ? true : undefined), 15_000);

    const genome = await publisher.genomes!.publish({ name: 'Zebra', description: 'says zebra', capabilities: ['zebra'], adapter: fixture.adapterPath, baseModel: fixture.modelPath, scale: 1 });

    const replies: ChatMessage[] = [];
    publisher.rooms!.on('message', (message) => {
      if (message.author.kind === 'persona' && !message.streaming && !replies.some((r) => r.id === message.id)) replies.push(message);
    });
    const ask = async (): Promise<string> => {
      const count = replies.length;
      publisher.rooms!.send({ roomId: 'general', text: '@tiny hello mesh' });
      return (await until('a reply from tiny', () => replies[count], 60_000)).text;
    };
    await until('tiny on the mesh', () => (publisher.personas!.directory.all().some((p) => p.id === 'tiny') ? true : undefined), 20_000);
    const base = await ask();
    assert.doesNotMatch(base, /zebra/);

    const results = await host.genomes!.query({ required: ['zebra'], timeoutMs: 5000 });
    assert.equal(results[0]?.id, genome.id);
    const progress = await host.genomes!.download(genome.id);
    assert.deepEqual(progress.sources, [publisher.identity.nodeId]);
    await host.genomeApplier!.apply(personaFile, genome.id, host.personas!.registry.get('tiny')!.persona);
    assert.match(readFileSync(personaFile, 'utf8'), new RegExp(`genomes:\\n  - ${genome.id}\\n`));
    await until('the persona reloaded with the genome', () => (host.personas!.registry.get('tiny')?.persona.genomes.includes(genome.id) ? true : undefined), 10_000);
    const adapted = await ask();
    assert.notEqual(adapted, base, 'the adapter changed the reply');
    assert.match(adapted, /zebra zebra/);
    assert.deepEqual(host.genomeApplier!.adapters(host.personas!.registry.get('tiny')!.persona).map((a) => a.scale), [1]);

    // The persona file's scale wins over the manifest's: at 0 the adapter no longer acts.
    writeFileSync(personaFile, readFileSync(personaFile, 'utf8').replace('  contextSize: 1024\n', '  contextSize: 1024\n  loraScale: 0\n'));
    await until('the persona reloaded with loraScale 0', () => (host.personas!.registry.get('tiny')?.persona.brain.loraScale === 0 ? true : undefined), 10_000);
    assert.deepEqual(host.genomeApplier!.adapters(host.personas!.registry.get('tiny')!.persona).map((a) => a.scale), [0]);
    assert.doesNotMatch(await ask(), /zebra zebra/, 'an adapter at scale 0 does not change the reply');

    await host.genomeApplier!.unapply(personaFile, genome.id);
    await until('the persona reloaded without the genome', () => (host.personas!.registry.get('tiny')?.persona.genomes.length === 0 ? true : undefined), 10_000);
    assert.deepEqual(host.genomeApplier!.adapters(host.personas!.registry.get('tiny')!.persona), []);
    // The room's history is part of the context now, so the reply is not the first one again; the adapter's word is gone.
    assert.doesNotMatch(await ask(), /zebra/, 'removing the genome removes the adapter');
  });
});
