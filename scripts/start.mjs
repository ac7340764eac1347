#!/usr/bin/env node
// npm start — the product in a browser: installs code-server 4.100.3 from npm (cached), builds and
// packages the extension, installs it, starts two headless demo nodes on the same demo mesh and
// code-server on 127.0.0.1:8080 (or $PORT) with a sample workspace. Ctrl-C stops everything.
//
//   npm start [-- --nodes N]      environment: PORT (default 8080), PERSONA_MESH_KEY (default demo-mesh-key)
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { installCodeServer, installVsix, repoRoot, startCodeServer } from './code-server.mjs';
import { packageExtension } from './package.mjs';

const demoDir = join(repoRoot, '.cache', 'demo');
const host = '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const meshKey = process.env.PERSONA_MESH_KEY || 'demo-mesh-key';
const args = process.argv.slice(2);
const nodeCount = args.includes('--nodes') ? Number(args[args.indexOf('--nodes') + 1]) : 2;

const log = (line) => console.log(`[start] ${line}`);
/** Folders of the demo personas by node index (demo-1, demo-2). */
let personaFolders = {};
/** The demo nodes index the sample workspace, so their personas' links are workspace-relative. */
let demoWorkspace;

function portIsFree(p) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(p, host, () => server.close(() => resolve(true)));
  });
}

/**
 * The personas of the demo, hosted by the demo nodes (not by the VS Code window: one persona id
 * lives on one node). They need no model: the librarian brain answers from the sample workspace
 * with BM25. demo-1 hosts the Librarian, who answers questions in general; demo-2 hosts the
 * Reviewer, who answers when mentioned and reviews code ("Review Selection with Persona").
 */
function writeDemoPersonas() {
  const persona = (id, name, description, capabilities, extra, prompt) =>
    ['---', `id: ${id}`, `name: ${name}`, `description: ${description}`, 'brain:', '  provider: librarian', 'capabilities:', ...capabilities.map((c) => `  - ${c}`), ...extra, '---', prompt, ''].join('\n');
  const folders = {};
  for (const [index, id, text] of [
    [1, 'librarian', persona('librarian', 'Librarian', 'Answers from the workspace documents, with file and line.', ['docs', 'search'], ['triggers:', '  - how do I', '  - where is', 'rooms:', '  general: expert'], 'You are the Librarian of this team. Answer from the documents, quoting file and line.')],
    [2, 'reviewer', persona('reviewer', 'Reviewer', 'Reviews code against the team conventions in the workspace.', ['code-review', 'docs'], ['rooms:', '  general: member', 'participation:', '  mentionsOnly: true'], 'You are the Reviewer. Point at the conventions of this workspace, with file and line.')],
  ]) {
    const folder = join(demoDir, `personas-${index}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${id}.persona.md`), text);
    folders[index] = folder;
  }
  rmSync(join(demoDir, 'personas'), { recursive: true, force: true }); // the single folder of earlier versions
  return folders;
}

function createSampleWorkspace(dir) {
  mkdirSync(join(dir, '.mesh', 'personas'), { recursive: true });
  const deploy = join(dir, 'DEPLOY.md');
  if (!existsSync(deploy)) {
    writeFileSync(
      deploy,
      [
        '# Deploying the service',
        '',
        'To deploy, run `make deploy` from the repository root. It builds the image, runs the',
        'migrations and switches traffic once the health check passes.',
        '',
        'Roll back with `make rollback`; it keeps the last three releases.',
        '',
      ].join('\n'),
    );
  }
  const readme = join(dir, 'README.md');
  if (!existsSync(readme)) {
    writeFileSync(
      readme,
      [
        '# Persona Mesh demo workspace',
        '',
        'This VS Code runs the Persona Mesh extension. Two headless demo nodes (demo-1, demo-2) run',
        'beside it on the same demo mesh (mesh key `demo-mesh-key`).',
        '',
        '- Click the Persona Mesh icon in the activity bar to see the peers and the personas.',
        '- Open the chat (click the status bar item) and ask in #general, for example',
        '  "how do I deploy?": the Librarian persona, hosted by demo-1, answers from this workspace.',
        '- Mention `@reviewer` (hosted by demo-2), or select code and run **Persona Mesh: Review',
        '  Selection with Persona**.',
        '- Run **Persona Mesh: Start Challenge** to have the Librarian and the Reviewer compete; judge',
        '  their anonymous answers in the chat panel.',
        '- The **Genomes** view lists "Incident runbooks", published by demo-2: download it and apply',
        '  it to a persona of your own (**Persona Mesh: New Persona**).',
        '- Run **Persona Mesh: Show Status** from the command palette (F1) to see this node.',
        '- Personas live in `.mesh/personas/*.persona.md`.',
        '',
      ].join('\n'),
    );
  }
}

function writeDefaultSettings(userDataDir) {
  const file = join(userDataDir, 'User', 'settings.json');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  let settings = { 'workbench.startupEditor': 'readme', 'telemetry.telemetryLevel': 'off', 'update.mode': 'none', 'git.openRepositoryInParentFolders': 'never' };
  if (existsSync(file)) {
    try {
      settings = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      log(`${file} is not plain JSON; its mesh settings are replaced`);
    }
  }
  // The demo mesh lives on loopback: it never sends a beacon to the real network, whatever the
  // user changed in the demo's settings before.
  settings['personaMesh.listen'] = '127.0.0.1:0';
  settings['personaMesh.discovery.interface'] = '127.0.0.1';
  writeFileSync(file, JSON.stringify(settings, null, 2));
}

/** Starts one headless node with the CLI and waits for its {"event":"ready"} line. */
function startDemoNode(index) {
  const name = `demo-${index}`;
  const dataDir = join(demoDir, `node-${index}`);
  // Private from the start, as the node keeps it (it would tighten a 0755 one and say so).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logFile = join(demoDir, `${name}.log`);
  const child = spawn(process.execPath, [join(repoRoot, 'server', 'out', 'cli.js'), 'node', '--data-dir', dataDir, '--name', name, '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--jsonl', ...(personaFolders[index] ? ['--personas', personaFolders[index], '--workspace', demoWorkspace] : [])], {
    cwd: repoRoot,
    env: { ...process.env, PERSONA_MESH_KEY: meshKey },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logStream = createWriteStream(logFile, { flags: 'a' });
  /** Receivers of the node's JSONL events. */
  const listeners = new Set();
  child.stderr.pipe(logStream);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not print {"event":"ready"} within 30 s (log: ${logFile})`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      logStream.write(`${line}\n`);
      try {
        const event = JSON.parse(line);
        for (const listener of listeners) listener(event);
        if (event.event === 'ready') {
          clearTimeout(timer);
          resolve(event);
        }
      } catch {
        // not JSON: keep it in the log only
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready; see ${logFile}`));
    });
  });
  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end('{"op":"quit"}\n');
    const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    clearTimeout(killer);
  }
  /** Sends one stdin op and resolves with the first event `match` accepts (or rejects after `timeoutMs`). */
  function request(op, match, timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`${name}: no answer to ${op.op} within ${timeoutMs / 1000} s (log: ${logFile})`));
      }, timeoutMs);
      const listener = (event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(event);
      };
      listeners.add(listener);
      child.stdin.write(`${JSON.stringify(op)}\n`);
    });
  }
  return { name, dataDir, logFile, child, ready, exited, stop, request };
}

/**
 * demo-2 publishes a knowledge genome once (a genome's id includes its creation time, so a second
 * start must not publish another): the Genomes view has something to download and apply.
 */
async function publishDemoGenome(node) {
  const marker = join(node.dataDir, 'demo-genome.json');
  if (existsSync(marker)) return;
  const knowledge = join(demoDir, 'knowledge', 'incident-runbooks');
  mkdirSync(knowledge, { recursive: true });
  writeFileSync(
    join(knowledge, 'database-failover.md'),
    ['# Database failover', '', '1. Page the on-call DBA.', '2. Promote the replica: `dbctl promote --replica eu-2`.', '3. Point the app at it: `deployctl config set DB_HOST=eu-2`.', '4. Post in #incidents what happened and when.', ''].join('\n'),
  );
  writeFileSync(
    join(knowledge, 'rollback.md'),
    ['# Rolling back after a bad release', '', 'Run `deployctl rollback --to previous`, then watch the error rate for ten minutes.', 'If it does not drop, fail over the database (see database-failover.md).', ''].join('\n'),
  );
  try {
    const published = await node.request(
      { op: 'genome.publish', ref: 'demo', name: 'Incident runbooks', description: 'Runbooks for database failover and release rollbacks, for the librarian.', capabilities: ['incident-response', 'runbooks'], knowledge, prompt: 'When asked about an incident, give the runbook steps in order.' },
      (event) => event.ref === 'demo' && (event.event === 'genome.published' || event.event === 'genome.error'),
    );
    if (published.event === 'genome.error') throw new Error(published.reason);
    writeFileSync(marker, JSON.stringify({ id: published.id }));
    log(`${node.name} published the genome "Incident runbooks" (${published.id.slice(0, 12)}…)`);
  } catch (error) {
    log(`${node.name} could not publish the demo genome: ${error.message ?? error} (the demo goes on without it)`);
  }
}

async function main() {
  const started = Date.now();
  if (!(await portIsFree(port))) throw new Error(`port ${port} on ${host} is in use: stop what uses it or run PORT=8081 npm start`);
  mkdirSync(demoDir, { recursive: true });

  await installCodeServer({ log: (line) => log(`code-server: ${line}`) });
  const vsix = await packageExtension({ out: join(demoDir, 'persona-mesh.vsix') });
  const extensionsDir = join(demoDir, 'extensions');
  await installVsix(vsix, extensionsDir, { log });
  const workspace = join(demoDir, 'workspace');
  createSampleWorkspace(workspace);
  personaFolders = writeDemoPersonas();
  demoWorkspace = workspace;
  const userDataDir = join(demoDir, 'user-data');
  writeDefaultSettings(userDataDir);

  const nodes = [];
  let server;
  let stopping;
  const stopAll = (reason, code = 0) => {
    stopping ??= (async () => {
      log(`${reason}: stopping`);
      await Promise.allSettled([server?.stop(), ...nodes.map((node) => node.stop())]);
      log('stopped code-server and the demo nodes');
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stopAll('Ctrl-C'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  process.on('SIGHUP', () => void stopAll('SIGHUP'));

  try {
    for (let i = 1; i <= nodeCount; i++) nodes.push(startDemoNode(i));
    for (const node of nodes) {
      const ready = await node.ready;
      log(`${node.name} ready: node id ${ready.nodeId} (data ${node.dataDir}, log ${node.logFile})`);
      void node.exited.then(({ code, signal }) => {
        if (!stopping) void stopAll(`${node.name} exited unexpectedly (${signal ?? `code ${code}`}; see ${node.logFile})`, 1);
      });
    }
    if (nodes[1]) await publishDemoGenome(nodes[1]);
    server = await startCodeServer({
      port,
      host,
      userDataDir,
      extensionsDir,
      folder: workspace,
      env: { PERSONA_MESH_KEY: meshKey },
      log: (line) => log(`code-server: ${line}`),
      timeoutMs: 90_000,
    });
    void server.exited.then(({ code, signal }) => {
      if (!stopping) {
        console.error(server.output().slice(-3000));
        void stopAll(`code-server exited unexpectedly (${signal ?? `code ${code}`})`, 1);
      }
    });
  } catch (error) {
    await Promise.allSettled([server?.stop(), ...nodes.map((node) => node.stop())]);
    throw error;
  }

  const url = new URL(server.url);
  url.searchParams.set('folder', workspace);
  console.log('');
  console.log(`Persona Mesh is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s). Open this URL in a browser:`);
  console.log('');
  console.log(`    ${url.toString()}`);
  console.log('');
  console.log(`mesh key "${meshKey}" · ${nodeCount} demo node${nodeCount === 1 ? '' : 's'} · state in ${demoDir} · Ctrl-C stops everything`);
}

main().catch((error) => {
  console.error(`[start] ${error.message ?? error}`);
  process.exit(1);
});
