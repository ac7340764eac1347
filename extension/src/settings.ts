import * as vscode from 'vscode';
import type { NetworkSettings } from '../../protocol/status';

/** Settings whose change needs the node's network restarted. */
export const networkSettingKeys = ['personaMesh.listen', 'personaMesh.discovery', 'personaMesh.peers', 'personaMesh.trustedNodes', 'personaMesh.nodeName', 'personaMesh.network.cluster'];

export function readNetworkSettings(): NetworkSettings {
  const config = vscode.workspace.getConfiguration('personaMesh');
  return {
    listen: config.get<string>('listen', '0.0.0.0:47778'),
    discovery: config.get<boolean>('discovery.enabled', true)
      ? {
          group: config.get<string>('discovery.group', '239.255.77.77'),
          port: config.get<number>('discovery.port', 47777),
          interface: config.get<string>('discovery.interface', ''),
          intervalMs: config.get<number>('discovery.intervalMs', 2000),
          broadcast: config.get<boolean>('discovery.broadcast', false),
        }
      : false,
    staticPeers: config.get<string[]>('peers', []),
    trustedNodes: config.get<string[]>('trustedNodes', []),
    cluster: config.get<string>('network.cluster', ''),
  };
}
