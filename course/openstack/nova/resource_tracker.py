"""nova-compute's resource tracker: the compute node record (``nova/compute/resource_tracker.py``).

At start-up (``pre_start_hook``) the tracker reports the hypervisor as a ComputeNode
record (through the conductor) and as a Placement inventory (HTTP).

Simplified: one node; usage is counted by Placement only.
"""

from __future__ import annotations

import logging
from typing import Any

from . import exception
from .conf import ALLOCATION_RATIOS
from .context import RequestContext
from .objects import ComputeNode
from .placement import ReportClient

LOG = logging.getLogger(__name__)


class ResourceTracker:
    """One per nova-compute (``ComputeManager.rt``)."""

    def __init__(self, host: str, driver: Any, reportclient: ReportClient) -> None:
        self.host = host
        self.driver = driver
        self.reportclient = reportclient

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
