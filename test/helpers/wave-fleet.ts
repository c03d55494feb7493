/** A fleet with waves, shared by the rollout-waves tests. */

/** Four clusters, three waves: a canary by name, a wave by labels, the aggregator and the rest last. */
export const WAVE_FLEET = `apiVersion: promfleet.dev/v1alpha1
kind: Fleet
package:
  refName: prometheus.tanzu.vmware.com
  version: 2.43.0+vmware.2-tkg.1
git:
  url: https://github.com/acme/fleet.git
remoteWrite:
  auth: none
waves:
  - name: canary
    clusters: [edge-1]
  - name: early
    labels: { tier: dev }
  - name: rest
    clusters: [orbstack, "*"]
clusters:
  - name: orbstack
    role: aggregator
    ingress:
      host: prometheus.example.com
  - name: kind
    role: agent
    labels: { tier: dev }
  - name: edge-1
    role: agent
  - name: edge-2
    role: agent
`;
