import * as vscode from 'vscode';

/** A view whose items come from a later part of the mesh: empty, so its welcome content shows. */
export class EmptyView implements vscode.TreeDataProvider<never> {
  getChildren(): never[] {
    return [];
  }
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
}
