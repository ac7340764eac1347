// Preloaded (`node -r`) into one node of the scale bench: the first SIGUSR2 starts the V8 CPU
// profiler, the second writes `<SCALE_PROFILE_DIR>/<pid>.cpuprofile`. A profile of the idle window
// alone: `node --cpu-prof` would bury it under the join's cost.
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const session = new Session();
session.connect();
let running = false;
process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () => session.post('Profiler.start'));
    return;
  }
  running = false;
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(join(process.env.SCALE_PROFILE_DIR ?? '.', `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
