"""nova-compute's resource tracker: the claim a build holds, and the compute node record.

``nova/compute/resource_tracker.py`` and ``nova/compute/claims.py``.  A build claims
its resources on the host before it builds anything: the claim tags the instance
with this host and node (an ``instance.save()``, so a conductor call); if the build
fails inside the claim, the claim is **aborted** and the instance untagged (another
save, host and node None) before the compute tells the conductor to reschedule.  At
start-up and then periodically, the tracker reports the hypervisor as a ComputeNode
record (through the conductor) and as a Placement inventory (HTTP).

Simplified: usage is counted by Placement only, so a claim and its abort save the
instance but not the compute node (upstream's ``_update`` also saves the ComputeNode's
usage and refreshes Placement's view); no PCI, NUMA or move claims.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import exception
from .conf import ALLOCATION_RATIOS
from .context import RequestContext
from .objects import ComputeNode, Instance
from .placement import ReportClient

LOG = logging.getLogger(__name__)


class ResourceTracker:
    """One per nova-compute (``ComputeManager.rt``)."""

    def __init__(self, host: str, driver: Any, reportclient: ReportClient) -> None:
        self.host = host
        self.driver = driver
        self.reportclient = reportclient

    @contextmanager
    def instance_claim(self, context: RequestContext, instance: Instance, nodename: str,
                       allocations: dict, limits: dict | None = None) -> Iterator[None]:
        """``instance_claim`` and ``Claim.__exit__``: the instance is ours while the
        ``with`` block runs; any exception in it aborts the claim, then goes on."""
        if instance.host:
            LOG.warning("Host field should not be set on the instance until resources "
                        "have been claimed.")
        self._set_instance_host_and_node(instance, nodename)
        try:
            yield
        except Exception:
            self.abort_instance_claim(context, instance, nodename)
            raise

    def abort_instance_claim(self, context: RequestContext, instance: Instance,
                             nodename: str) -> None:
        """``Claim.abort`` -> ``abort_instance_claim``: remove the usage, untag the
        instance."""
        LOG.debug("Aborting claim: instance %s on %s", instance.uuid, nodename)
        self._unset_instance_host_and_node(instance)

    def _set_instance_host_and_node(self, instance: Instance, nodename: str) -> None:
        instance.host = self.host
        instance.launched_on = self.host
        instance.node = nodename
        instance.save()

    def _unset_instance_host_and_node(self, instance: Instance) -> None:
        instance.host = None
        instance.node = None
        instance.save()

    def update_available_resource(self, context: RequestContext) -> ComputeNode:
        """The compute node record, created or brought up to date through the conductor,
        and its Placement inventory (HTTP)."""
        res = self.driver.resources
        [(node_uuid, nodename)] = self.driver.get_nodenames_by_uuid().items()
        values = dict(uuid=node_uuid, host=self.host, hypervisor_hostname=nodename,
                      hypervisor_type="fake", vcpus=res["vcpus"], memory_mb=res["memory_mb"],
                      local_gb=res["local_gb"], cpu_allocation_ratio=ALLOCATION_RATIOS["VCPU"],
                      ram_allocation_ratio=ALLOCATION_RATIOS["MEMORY_MB"],
                      disk_allocation_ratio=ALLOCATION_RATIOS["DISK_GB"])
        try:
            node = ComputeNode.get_by_host_and_nodename(context, self.host, nodename)
            for name, value in values.items():
                if getattr(node, name) != value:
                    setattr(node, name, value)
            if node.obj_what_changed():
                node.save()
        except exception.ComputeHostNotFound:
            node = ComputeNode(context, **values)
            node.create()
            LOG.info("Compute node record created for %s:%s with uuid: %s", self.host,
                     nodename, node_uuid)
        self.reportclient.set_inventory_for_provider(context, node_uuid)
        return node
