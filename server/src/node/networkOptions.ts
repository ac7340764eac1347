/**
 * Turns the user's network settings (VS Code settings or CLI flags) into MeshNetwork options,
 * with errors that name the setting at fault.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';
import type { NetworkSettings } from '../../../protocol/status';
import { nodeIdPattern } from '../../../protocol/mesh';

export class NetworkSettingsError extends Error {
  readonly code = 'network-settings';
  constructor(message: string) {
    super(message);
    this.name = 'NetworkSettingsError';
  }
}

export const defaultListenPort = 47778;

export const defaultNetworkSettings: NetworkSettings = {
  listen: `0.0.0.0:${defaultListenPort}`,
  discovery: { group: '239.255.77.77', port: 47777, interface: '', intervalMs: 2000, broadcast: false },
  staticPeers: [],
  trustedNodes: [],
};

export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || !match[1] || port > 65535) {
    throw new NetworkSettingsError(`${what} "${text}" is not host:port (for example 192.168.1.20:47778)`);
  }
  return { host: match[1], port };
}

/**
 * The interface for multicast. Never left to the kernel: on machines whose default route is a
 * VPN or a container bridge it would pick the wrong one and nobody would be found.
 */
export function pickInterfaceAddress(requested: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string {
  const candidates = Object.entries(interfaces).flatMap(([name, infos]) => (infos ?? []).filter((info) => info.family === 'IPv4').map((info) => ({ name, ...info })));
  if (requested) {
    if (isIP(requested) === 4) return requested;
    const byName = candidates.find((info) => info.name === requested);
    if (byName) return byName.address;
    throw new NetworkSettingsError(
      `the discovery interface "${requested}" is neither an IPv4 address nor an interface of this machine (have: ${candidates.map((c) => `${c.name} ${c.address}`).join(', ')})`,
    );
  }
  const external = candidates.find((info) => !info.internal);
  return external?.address ?? '127.0.0.1';
}

export function validateNodeIds(ids: readonly string[], what: string): string[] {
  return ids.map((id) => {
    const clean = id.replace(/[-\s]/g, '').toUpperCase();
    if (!nodeIdPattern.test(clean)) throw new NetworkSettingsError(`${what}: "${id}" is not a node id (52 characters A-Z and 2-7, dashes allowed)`);
    return clean;
  });
}
