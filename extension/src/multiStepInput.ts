/**
 * Steps of a multi-step quick input with a Back button (the VS Code multi-step input pattern):
 * each step shows one input box or quick pick and resolves with the answer, `back` when the
 * person pressed Back, or undefined when they cancelled (Escape, focus elsewhere does not count:
 * every step ignores focus out).
 */
import * as vscode from 'vscode';

export const back = Symbol('back');
export type StepResult<T> = T | typeof back | undefined;

interface StepOptions {
  title: string;
  /** Show the Back button (every step but the first). */
  canGoBack: boolean;
}

/** Resolves once with the first outcome and disposes the input. */
function settle<T>(input: vscode.QuickInput, run: (done: (result: StepResult<T>) => void) => vscode.Disposable[]): Promise<StepResult<T>> {
  return new Promise((resolve) => {
    let finished = false;
    const subscriptions: vscode.Disposable[] = [];
    const done = (result: StepResult<T>) => {
      if (finished) return;
      finished = true;
      for (const subscription of subscriptions) subscription.dispose();
      input.dispose();
      resolve(result);
    };
    subscriptions.push(...run(done), input.onDidHide(() => done(undefined)));
    input.show();
  });
}

export function inputStep(options: StepOptions & { prompt: string; value?: string; validate?: (value: string) => string | undefined }): Promise<StepResult<string>> {
  const box = vscode.window.createInputBox();
  box.title = options.title;
  box.prompt = options.prompt;
  box.value = options.value ?? '';
  box.ignoreFocusOut = true;
  box.buttons = options.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  const check = () => (box.validationMessage = options.validate?.(box.value));
  check();
  return settle<string>(box, (done) => [
    box.onDidChangeValue(check),
    box.onDidTriggerButton((button) => button === vscode.QuickInputButtons.Back && done(back)),
    box.onDidAccept(() => {
      if (check() === undefined) done(box.value);
    }),
  ]);
}

export function pickStep<I extends vscode.QuickPickItem>(options: StepOptions & { placeholder: string; items: readonly I[]; active?: I }): Promise<StepResult<I>> {
  const pick = vscode.window.createQuickPick<I>();
  pick.title = options.title;
  pick.placeholder = options.placeholder;
  pick.items = options.items;
  if (options.active) pick.activeItems = [options.active];
  pick.ignoreFocusOut = true;
  pick.buttons = options.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  return settle<I>(pick, (done) => [
    pick.onDidTriggerButton((button) => button === vscode.QuickInputButtons.Back && done(back)),
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems[0] ?? pick.activeItems[0];
      if (chosen) done(chosen);
    }),
  ]);
}

/** A multi-select that stays open until at least `min` items are picked. */
export function pickManyStep<I extends vscode.QuickPickItem>(options: StepOptions & { placeholder: string; items: readonly I[]; selected: readonly I[]; min: number }): Promise<StepResult<I[]>> {
  const pick = vscode.window.createQuickPick<I>();
  pick.title = options.title;
  pick.placeholder = options.placeholder;
  pick.canSelectMany = true;
  pick.items = options.items;
  pick.selectedItems = options.selected;
  pick.ignoreFocusOut = true;
  pick.buttons = options.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  return settle<I[]>(pick, (done) => [
    pick.onDidTriggerButton((button) => button === vscode.QuickInputButtons.Back && done(back)),
    pick.onDidAccept(() => {
      if (pick.selectedItems.length >= options.min) done([...pick.selectedItems]);
      else void vscode.window.showWarningMessage(`Pick at least ${options.min}.`);
    }),
  ]);
}

/**
 * Runs the steps in order; Back returns to the previous one (whose answer it shows again, as the
 * steps read and write one state). Resolves true when the last step is answered, false when the
 * person cancelled.
 */
export async function runSteps(steps: readonly ((canGoBack: boolean) => Promise<StepResult<unknown>>)[]): Promise<boolean> {
  let index = 0;
  // Each pass moves one step forward or back; cancelling ends it.
  while (index < steps.length) {
    const result = await steps[index]!(index > 0);
    if (result === undefined) return false;
    index = result === back ? Math.max(0, index - 1) : index + 1;
  }
  return true;
}
