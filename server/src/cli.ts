/** The `persona-mesh` command line: a headless mesh node and tools around it. */
import { version } from '../../package.json';
import { parseArgs, UsageError } from './cli/args';
import { nodeArgSpec, runNodeCommand, defaultDataDir } from './cli/nodeCommand';
import { createCliOutput } from './cli/output';
import { exportArgSpec, exportUsageLine, exportUsageOptions, runExportCommand } from './cli/exportCommand';

const usage = `persona-mesh ${version}: a Persona Mesh node without VS Code

Usage:
  persona-mesh node [options]     run a headless mesh node
${exportUsageLine}  persona-mesh --help             this text
  persona-mesh --version          print the version

Options for "node":
  --name NAME             display name of this node (default: the host name)
  --data-dir DIR          identity, database and blobs (default: ${defaultDataDir})
  --mesh-key-file FILE    file holding the team's mesh key (or set PERSONA_MESH_KEY)
  --listen HOST:PORT      TCP address for sessions (default 0.0.0.0:47778; a free port
                          is used when it is taken)
  --multicast GROUP:PORT  discovery group (default 239.255.77.77:47777)
  --interface ADDR        IPv4 address or name of the interface for discovery
                          (default: the first non-loopback IPv4 interface)
  --interval-ms MS        milliseconds between beacons (default 2000)
  --broadcast             also send beacons by UDP broadcast
  --no-discovery          no beacons: static peers and peer exchange only
  --peer HOST:PORT        a node to dial directly (repeatable)
  --trust NODE_ID         accept sessions only from these nodes (repeatable)
  --room ROOM             join this room at start (repeatable; "general" always)
  --workspace DIR         a workspace folder: personas in DIR/.mesh/personas/ are hosted
                          here and the librarian indexes DIR (repeatable)
  --personas DIR          another folder of *.persona.md files (repeatable)
  --models-dir DIR        where llama personas' hf: models are downloaded
                          (default: DATA_DIR/models)
  --hf-endpoint URL       a Hugging Face mirror for hf: models
  --evolution POLICY      automatic: hosted personas adopt genomes from the mesh when
                          their scores fall or they lack a capability; off (default)
  --jsonl                 machine-readable events on stdout, one JSON object a line:
                          ready, peer.up, peer.down, peers, stats, message, message.updated,
                          sent, joined, left, history, rpc.result, model.download, evolution,
                          error, stopped;
                          stdin takes {"op":"status"}, {"op":"peers"}, {"op":"stats"},
                          {"op":"send","room","text"}, {"op":"join","room"},
                          {"op":"leave","room"}, {"op":"history","room","limit"},
                          {"op":"rpc","node","method","params","id"}
                          and {"op":"quit"}; challenges: {"op":"personas"},
                          {"op":"challenge.start","spec","id"},
                          {"op":"challenge.score","challengeId","scores"},
                          {"op":"challenges"}, {"op":"leaderboard"}; events challenge,
                          challenge.started, challenge.scored, challenges, leaderboard, personas
  --challenge-timeout-ms MS  a challenge this node takes part in is cancelled when nothing
                          is heard from its coordinator for this long (default 30000)
  --log-level LEVEL       trace, debug, info (default), warn or error; logs go to stderr
  --genome-max-mb N       largest genome this node downloads (default 2048)
  --genome-max-rate-kib N download rate limit for genome pieces, KiB/s (default none)
  --role node|hub         hub: accepts hundreds of sessions (a well-connected node a large
                          team points others at); node (default) keeps 6-12
  --sessions LOW-HIGH     sessions this node keeps at least and accepts at most (default 6-12;
                          the mesh reaches everyone else through the overlay)
  --max-messages-per-minute N  messages a participant may send, and this node stores from
                          each author, per minute (default 60; edits, reactions and what
                          the node takes from each peer scale with it); for bots and load tests
                          genome stdin ops: {"op":"genome.publish",...}, genome.list,
                          genome.query, genome.download, genome.cancel, genome.delete,
                          genome.manifest (see README "Genomes")

${exportUsageOptions}
The node stops cleanly on SIGTERM, SIGINT or {"op":"quit"} on stdin.
Exit codes: 0 stopped cleanly, 1 unexpected failure, 2 bad usage or configuration.
`;

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(usage);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const jsonl = argv.includes('--jsonl');
  const output = createCliOutput(jsonl);
  try {
    const args = parseArgs(argv, argv[0] === 'export' ? exportArgSpec : nodeArgSpec);
    if (args.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    switch (args.command) {
      case 'node':
        return await runNodeCommand(args, { output, env: process.env, stdin: process.stdin });
      case 'export':
        return await runExportCommand(args, { output });
      default:
        throw new UsageError(`unknown command ${JSON.stringify(args.command)} (see persona-mesh --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.error(error.message, 'usage');
      return 2;
    }
    output.error(`unexpected failure: ${(error as Error).stack ?? String(error)}`, 'internal');
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // A clean stop leaves nothing running; if something still holds the loop, say so and leave.
  setTimeout(() => {
    process.stderr.write(`persona-mesh: handles still open after stop: ${process.getActiveResourcesInfo().join(', ')}\n`);
    process.exit(code);
  }, 5000).unref();
});
