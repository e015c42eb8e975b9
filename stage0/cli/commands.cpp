#include <iostream>

#include "stage0/cli/command.hpp"

namespace ferry::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {{"version"}, "print the versions of ferry and the specs it implements", versionCommand},
      {{"image", "convert"},
       "convert an image between ACI and OCI, reporting what is lost",
       imageConvertCommand},
      {{"fetch"}, "fetch images into the store", fetchCommand},
      {{"image", "list"}, "list the images in the store", imageListCommand},
      {{"image", "cat-manifest"}, "print an image's manifest", imageCatManifestCommand},
      {{"image", "inspect"},
       "show what an image runs with (exec, env, user, ports, annotations)",
       imageInspectCommand},
      {{"image", "rm"}, "remove images from the store", imageRmCommand},
      {{"image", "gc"}, "remove blobs and trees no image uses", imageGcCommand},
      {{"image", "verify"}, "re-hash the store's blobs and trees", imageVerifyCommand},
      {{"image", "export"}, "write an image as an ACI file or an OCI layout", imageExportCommand},
      {{"image", "extract"},
       "write an image (manifest and rootfs) to a directory",
       imageExtractCommand},
      {{"image", "render"},
       "write an image's rootfs with its dependencies to a directory",
       imageRenderCommand},
      {{"run"}, "run a pod of appc and OCI images", runCommand},
      {{"prepare"}, "prepare a pod to run later", prepareCommand},
      {{"run-prepared"}, "run a prepared pod", runPreparedCommand},
      {{"start"}, "start a prepared pod as a transient systemd service", startCommand},
      {{"list"}, "list pods", listCommand},
      {{"status"}, "show a pod's state and its apps' exit statuses", statusCommand},
      {{"stop"}, "stop running pods", stopCommand},
      {{"rm"}, "remove exited or prepared pods", rmCommand},
      {{"gc"}, "collect exited pods", gcCommand},
      {{"enter"}, "run a command inside a running pod", enterCommand},
      {{"cat-manifest"}, "print a pod's manifest", catManifestCommand},
      {{"export"}, "write an app of an exited pod as an ACI", exportCommand},
      {{"logs"}, "print a pod's app output", logsCommand},
      {{"bench"}, "run the same pod on several stage1s: cost and measured isolation", benchCommand},
      {{"config"},
       "print the merged configuration (paths, stage1, credentials) as JSON",
       configCommand},
      {{"completion"}, "print a bash or zsh completion script", completionCommand},
      {{"man-pages"}, "write ferry's man pages to a directory", manPagesCommand},
      {{"trust"}, "trust OpenPGP keys to sign appc images (ferry's own trust store)", trustCommand},
      {{"metadata-service"},
       "run the appc metadata service for pods started with --mds-register",
       metadataServiceCommand},
  };
  return kCommands;
}

}  // namespace ferry::cli
