/**
 * Pin data: which upstream releases `validate --fetch-crds` trusts, and the checksums that prove a
 * download is exactly that release. Data only; fetching and caching live in go-proxy.ts and crd-cache.ts.
 */

/** One CRD file inside a Go module, and the sha256 of its bytes. */
export interface PinnedFile {
  /** Path inside the module, e.g. config/crd/bases/x.yaml. */
  path: string;
  /** File name in the cache folder. */
  name: string;
  sha256: string;
}

/**
 * A tagged release of a controller, fetched as its Go module zip. `h1` is the module's go.sum hash
 * (`go mod download -json <module>@<version>` prints it; sum.golang.org publishes it): it covers every
 * file in the zip, so the CRDs are exactly the ones in the tagged source.
 */
export interface PinnedModule {
  module: string;
  version: string;
  h1: string;
  files: PinnedFile[];
}

export interface PinnedCrds {
  /** Names the cache folder: $XDG_CACHE_HOME/promfleet/crds/<version>/. */
  version: string;
  modules: PinnedModule[];
}

/**
 * The CRDs `validate --fetch-crds` downloads: kapp-controller v0.53.1 (App, PackageInstall) and the Flux
 * controllers v1.9.6 (GitRepository, Kustomization v1 with healthCheckExprs). The Flux h1 values are the
 * ones sum.golang.org publishes; kapp-controller's module is not in the checksum database reachable from
 * where this was written, so its h1 was computed by `go mod download` from proxy.golang.org's zip.
 * To bump: run `go mod download -json <module>@<version>` and take "Sum", then `sha256sum` each file.
 */
export const PINNED_CRDS: PinnedCrds = {
  version: "kapp-controller-v0.53.1+flux-controllers-v1.9.6",
  modules: [
    {
      module: "carvel.dev/kapp-controller",
      version: "v0.53.1",
      h1: "h1:svq5EL3ZagHGjirqn/fPCH5bVB+ZrO7N72YZ/5i4kJc=",
      files: [
        {
          path: "config/config/crds.yml",
          name: "kapp-controller-crds.yml",
          sha256: "56b0c240148ad8f283aed3d32ae6d578e49c9123af2b59dd2b0640248a6051a3",
        },
      ],
    },
    {
      module: "github.com/fluxcd/source-controller",
      version: "v1.9.6",
      h1: "h1:nG534/bI6nVpyHra7ONAk6xDB3xPsVT+EOLHZHXPrrc=",
      files: [
        {
          path: "config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml",
          name: "flux-gitrepositories.yaml",
          sha256: "bd0c08183287b2eea0d885751fc686bc4b2b583e919de6bd57859170b8d1727f",
        },
      ],
    },
    {
      module: "github.com/fluxcd/kustomize-controller",
      version: "v1.9.6",
      h1: "h1:XB+G3A0mky0j5uVHZWv4oSlS2RvZBoNIUhstIvY0JKE=",
      files: [
        {
          path: "config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
          name: "flux-kustomizations.yaml",
          sha256: "da23ca0e6b4c80d3d26a91583137491e147ef4ef1e2208aece0d0af4ef851974",
        },
      ],
    },
  ],
};

/** Every pinned CRD file, module by module. */
export const pinnedFiles = (pins: PinnedCrds): PinnedFile[] => pins.modules.flatMap((m) => m.files);
