"""Count what a cluster holds, kind by kind, concurrently; then follow a change as it happens.

    python docs/examples/async_inventory.py [KUBECONFIG] [NAMESPACE]

Needs the async extra: pip install 'dynkube[async]'.
"""

from __future__ import annotations

import asyncio
import sys

import dynkube.aio


async def count(client: dynkube.aio.Client, plural: str) -> tuple[str, int]:
    resource = await client.resource(plural)
    total = 0
    async for page in resource.list_pages(all_namespaces=True, metadata_only=True):
        total += len(page.items)
    return plural, total


async def main(kubeconfig: str | None, namespace: str) -> None:
    async with dynkube.aio.Client(kubeconfig=kubeconfig, namespace=namespace) as client:
        kinds = ["namespaces", "configmaps", "secrets", "serviceaccounts", "deployments.apps"]
        for plural, total in await asyncio.gather(*(count(client, p) for p in kinds)):
            print(f"{plural:<20} {total}")

        configmaps = await client.resource("configmaps")
        made = await configmaps.apply({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "inventory-demo"}, "data": {"step": "1"}})
        async with asyncio.timeout(30):
            async with configmaps.watch(field_selector="metadata.name=inventory-demo",
                                        resource_version=made.metadata.resourceVersion) as changes:
                await configmaps.patch("inventory-demo", {"data": {"step": "2"}})
                async for event in changes:
                    print(f"{event.type.value} configmap/{event.object.metadata.name} step={event.object.data.step}")
                    break
        await configmaps.delete("inventory-demo")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None, sys.argv[2] if len(sys.argv) > 2 else "default"))
