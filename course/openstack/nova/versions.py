"""The version numbers of upstream Nova master (2026.1 Gazpacho and after), in one place.

A message carries versions everywhere: the service record's ``version`` (what a
nova-compute can do, ``nova/objects/service.py``), each object's
``nova_object.version``, each versioned notification payload's, and the
``object_versions`` manifest of ``object_class_action_versions``: the object asked
for *and every object it may contain*, as ``obj_tree_get_versions`` walks them
(``oslo_versionedobjects/base.py``).  The lab models few objects and few fields; the
objects it does not model are listed here with their upstream version and
children, so that a manifest is the one real Nova sends.
"""

from __future__ import annotations

#: ``nova/objects/service.py``: ``SERVICE_VERSION`` ("Report OWNER_NOVA trait").
SERVICE_VERSION = 73
#: ``SERVICE_VERSION_HISTORY[n]['compute_rpc']`` for the versions a lab can meet;
#: 71 is the first whose nova-compute runs the ``compute-alt`` RPC server.
COMPUTE_RPC_BY_SERVICE_VERSION = {66: "6.2", 67: "6.3", 68: "6.4", 69: "6.4", 70: "6.4",
                                  71: "6.5", 72: "6.5", 73: "6.5"}
#: ``OLDEST_SUPPORTED_SERVICE_VERSION`` and its ``SERVICE_VERSION_ALIASES`` level: an
#: older nova-compute makes every service refuse to start (``nova/utils.py``,
#: ``raise_if_old_compute``).
OLDEST_SUPPORTED_SERVICE_VERSION = "Gazpacho"
OLDEST_SUPPORTED_SERVICE_LEVEL = 72
#: ``nova/compute/rpcapi.py:ComputeAPI.VERSION_ALIASES`` of the 6.x releases, for
#: ``[upgrade_levels] compute``.
COMPUTE_RPC_ALIASES = {"wallaby": "6.0", "xena": "6.0", "yoga": "6.0", "zed": "6.1",
                       "antelope": "6.2", "bobcat": "6.2", "caracal": "6.3",
                       "dalmatian": "6.3", "epoxy": "6.4", "flamingo": "6.4",
                       "gazpacho": "6.5"}

#: ``nova/notifications/objects/*.py``: the payloads the lab sends.
PAYLOAD_VERSIONS = {"InstanceCreatePayload": "1.13", "InstanceActionPayload": "1.9",
                    "RequestSpecPayload": "1.1", "ComputeTaskPayload": "1.0"}

#: Objects the lab does not model: name -> (VERSION, objects its fields may hold),
#: from the ``ObjectField`` and ``ListOfObjectsField`` fields of ``nova/objects/*.py``.
SUBOBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Destination": ("1.4", ("CellMapping",)),
    "DeviceBus": ("1.0", ()),
    "DeviceMetadata": ("1.0", ("DeviceBus",)),
    "EC2Ids": ("1.0", ()),
    "Flavor": ("1.2", ()),
    "HVSpec": ("1.2", ()),
    "ImageMeta": ("1.8", ("ImageMetaProps",)),
    "ImageMetaProps": ("1.43", ()),
    "InstanceDeviceMetadata": ("1.0", ("DeviceMetadata",)),
    "InstanceFault": ("1.2", ()),
    "InstanceGroup": ("1.11", ()),
    "InstanceInfoCache": ("1.5", ()),
    "InstanceNUMACell": ("1.6", ("VirtCPUTopology",)),
    "InstanceNUMATopology": ("1.3", ("InstanceNUMACell",)),
    "InstancePCIRequest": ("1.4", ()),
    "InstancePCIRequests": ("1.1", ("InstancePCIRequest",)),
    "KeyPair": ("1.4", ()),
    "KeyPairList": ("1.3", ("KeyPair",)),
    "MigrationContext": ("1.2", ("InstanceNUMATopology", "InstancePCIRequests",
                                 "PciDeviceList", "ResourceList")),
    "NUMATopologyLimits": ("1.1", ("NetworkMetadata",)),
    "NetworkMetadata": ("1.0", ()),
    "NetworkRequest": ("1.3", ()),
    "NetworkRequestList": ("1.1", ("NetworkRequest",)),
    "PciDevice": ("1.7", ()),
    "PciDeviceList": ("1.3", ("PciDevice",)),
    "PciDevicePool": ("1.1", ()),
    "PciDevicePoolList": ("1.1", ("PciDevicePool",)),
    "RequestGroup": ("1.3", ()),
    "RequestLevelParams": ("1.1", ()),
    "Resource": ("1.0", ("ResourceMetadata",)),
    "ResourceList": ("1.0", ("Resource",)),
    "ResourceMetadata": ("1.0", ()),
    "SchedulerLimits": ("1.0", ("NUMATopologyLimits",)),
    "SchedulerRetries": ("1.1", ("ComputeNodeList",)),
    "SecurityGroup": ("1.2", ()),
    "SecurityGroupList": ("1.1", ("SecurityGroup",)),
    "ServiceList": ("1.19", ("Service",)),
    "Tag": ("1.1", ()),
    "TagList": ("1.1", ("Tag",)),
    "TrustedCerts": ("1.0", ()),
    "VirtCPUFeature": ("1.0", ()),
    "VirtCPUModel": ("1.0", ("VirtCPUFeature", "VirtCPUTopology")),
    "VirtCPUTopology": ("1.0", ()),
}
