// appc image manifest → OCI image config (the layers are the caller's business).
//
// Pure: no I/O. Fields with an OCI counterpart are mapped (exec → Entrypoint, user:group → User,
// environment → Env, workingDirectory → WorkingDir, mountPoints → Volumes, ports →
// ExposedPorts with ranges expanded, os/arch labels → platform, created/authors annotations →
// created/author, other annotations → Labels). What OCI cannot express is kept verbatim in
// dev.ferry.appc.* labels (keys.hpp) so that ociToAci restores it, and reported.
#pragma once

#include "formats/appc/image_manifest.hpp"
#include "formats/oci/image_config.hpp"
#include "formats/translate/report.hpp"

namespace ferry::translate {

// The config's rootfs.diff_ids and history are left empty for the caller to fill.
oci::ImageConfig aciToOci(const appc::ImageManifest& manifest, Report& report);

}  // namespace ferry::translate
