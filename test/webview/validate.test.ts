/** The extension side of the webview boundary: what the panel posts is untrusted input. */
import assert from 'node:assert/strict';
import { ErrorCodes, ResponseError } from 'vscode-languageserver-protocol';
import { describeError, forwardRoomsRequest, type RequestSender } from '../../extension/src/chat/bridge';
import { checkFromWebview } from '../../extension/src/chat/validate';

describe('chat panel messages from the webview are checked (extension side)', () => {
  it('accepts well-formed messages and returns only the known fields', () => {
    const checked = checkFromWebview({ type: 'request', id: 7, method: 'send', params: { roomId: 'general', text: 'hi', mentions: ['A/user'], extra: 'dropped' }, junk: 1 });
    assert.deepEqual(checked, { ok: true, message: { type: 'request', id: 7, method: 'send', params: { roomId: 'general', text: 'hi', mentions: ['A/user'] } } });
    assert.deepEqual(checkFromWebview({ type: 'rate', roomId: 'general', messageId: 'N:1', persona: 'N/sage', rating: 'down' }), {
      ok: true,
      message: { type: 'rate', roomId: 'general', messageId: 'N:1', persona: 'N/sage', rating: 'down' },
    });
    assert.equal(checkFromWebview({ type: 'openLink', url: 'https://example.com/a?b=c' }).ok, true);
  });

  it('refuses wrong types, unknown methods and commands, bad room ids, oversize text, unsafe paths and links', () => {
    const refused: unknown[] = [
      null,
      'ready',
      { type: 'eval', code: 'x' },
      { type: 'runCommand', command: 'workbench.action.terminal.new' },
      { type: 'request', id: 'x', method: 'send', params: {} },
      { type: 'request', id: 1, method: 'executeCommand', params: {} },
      { type: 'request', id: 1, method: 'joinRoom', params: { roomId: 'Not A Room' } },
      { type: 'request', id: 1, method: 'send', params: { roomId: 'general', text: 'x'.repeat(16 * 1024 + 1) } },
      { type: 'request', id: 1, method: 'send', params: { roomId: 'general', text: '   ' } },
      { type: 'request', id: 1, method: 'history', params: { roomId: 'general', limit: 1e9 } },
      { type: 'request', id: 1, method: 'openAttachment', params: { path: '../../etc/passwd', startLine: 1, endLine: 2 } },
      { type: 'request', id: 1, method: 'openAttachment', params: { path: '/etc/passwd', startLine: 1, endLine: 2 } },
      { type: 'request', id: 1, method: 'openAttachment', params: { path: 'a.ts', startLine: 5, endLine: 2 } },
      { type: 'request', id: 1, method: 'react', params: { roomId: 'general', messageId: 'm', emoji: 'a b', add: true } },
      { type: 'request', id: 1, method: 'setPresence', params: { presence: 'sleeping' } },
      { type: 'openLink', url: 'javascript:alert(1)' },
      { type: 'openLink', url: 'command:workbench.action.terminal.new' },
      { type: 'openLink', url: 'file:///etc/passwd' },
      { type: 'rate', roomId: 'general', messageId: 'm', persona: 'p', rating: 'meh' },
      { type: 'typing', roomId: 42 },
    ];
    for (const raw of refused) assert.equal(checkFromWebview(raw).ok, false, JSON.stringify(raw)?.slice(0, 120));
  });

  it('a refused request can still be answered (it has an id), with a one-line reason', () => {
    const checked = checkFromWebview({ type: 'request', id: 3, method: 'send', params: { roomId: 'general', text: 'é'.repeat(10_000) } });
    assert.deepEqual(checked, { ok: false, id: 3, error: 'the message is 20,000 bytes; the limit is 16,384 bytes' });
  });

  it('forwards room requests to the server and turns failures into one line', async () => {
    const calls: [string, unknown][] = [];
    const sender: RequestSender = {
      sendRequest(type: { method: string }, params?: unknown) {
        calls.push([type.method, params]);
        if (type.method === 'mesh/rooms/leave') return Promise.resolve(undefined);
        if (type.method === 'mesh/rooms/send') return Promise.reject(new ResponseError(-32000, 'the message is 20,583 bytes; the limit is 16,384 bytes\nstack...'));
        return Promise.reject(new ResponseError(ErrorCodes.MethodNotFound, 'Unhandled method mesh/rooms/list'));
      },
    };
    assert.equal(await forwardRoomsRequest(sender, { type: 'request', id: 1, method: 'leaveRoom', params: { roomId: 'general' } }), null);
    const send = await forwardRoomsRequest(sender, { type: 'request', id: 2, method: 'send', params: { roomId: 'general', text: 'x' } }).catch((e: unknown) => describeError(e));
    assert.equal(send, 'the message is 20,583 bytes; the limit is 16,384 bytes');
    const list = await forwardRoomsRequest(sender, { type: 'request', id: 3, method: 'listRooms', params: {} }).catch((e: unknown) => describeError(e, 'mesh/rooms/list'));
    assert.match(list as string, /does not handle mesh\/rooms\/list yet/);
    assert.deepEqual(calls.map(([method]) => method), ['mesh/rooms/leave', 'mesh/rooms/send', 'mesh/rooms/list']);
  });
});
