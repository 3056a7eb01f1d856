"""The commented documents ``lamp spec init`` writes; @NAME@, @VERSION@, @SCHEMA@, @HEALTH@ and
@ROUTES@ are filled in (the last two from the app's API when there is one)."""

DEFAULT_HEALTH = """\
    liveness:
      path: /health/live
    readiness:
      path: /health/ready
"""

DEFAULT_ROUTES = """\
    - name: predict
      path: /v1/predict
      methods: [POST]
"""

MODEL_TEMPLATE = """\
# yaml-language-server: $schema=@SCHEMA@serving-model-spec.schema.json
#
# What is served: the image CI builds on a GitHub Release, how its server answers, what it needs.
# Check with `lamp spec validate`; lamp logs the normalized form of this file to the MLflow run.
apiVersion: lamp/v1alpha1
kind: ServingModelSpec
metadata:
  # DNS-1123 label, at most 53 characters.
  name: @NAME@
spec:
  image:
    # Full repository without tag. Replace the account and region with your ECR registry's.
    repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/@NAME@
    # The release version (`latest` is refused); CI sets it per release with
    #   lamp run log-spec --set model.spec.image.tag=$VERSION ...
    tag: @VERSION@
  server:
    # The port the FastAPI app listens on (1024-65535).
    port: 8000
    protocol: http
  health:
@HEALTH@  routes:
@ROUTES@  model:
    framework: scikit-learn
    description: Describe what the model predicts.
  # Plain, non-secret settings. Secrets: list them under requiredSecrets and supply them with a
  # secretRef in the endpoint spec.
  env:
    - name: LOG_LEVEL
      value: info
  # The secrets the model reads at run time, by name. Each is supplied by a secretRef in the
  # endpoint spec's env, or the pair is invalid. For an example, replace `[]` with the
  # commented lines below and uncomment the env example of the endpoint spec.
  requiredSecrets: []
  # requiredSecrets:
  #   - name: MODEL_API_KEY
  #     description: API key of the upstream service the model calls.
  # The least the model runs on; the endpoint's resource requests must cover it.
  hardware:
    minCpu: 500m
    minMemory: 512Mi
    arch: amd64
"""

ENDPOINT_TEMPLATE = """\
# yaml-language-server: $schema=@SCHEMA@serving-endpoint-spec.schema.json
#
# How the model is deployed. The image is not named here: it comes from the model spec.
# Preview what the operator will apply with `lamp spec render`.
apiVersion: lamp/v1alpha1
kind: ServingEndpointSpec
metadata:
  # Also the Helm release name: DNS-1123 label, at most 53 characters.
  name: @NAME@
spec:
  chart:
    # The platform's serving chart: https:// or oci://, exact SemVer version.
    repository: oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts
    name: lamp-serving
    version: 1.2.0
  target:
    # The Argo CD cluster name, the namespace to deploy into and the Argo CD project.
    cluster: in-cluster
    namespace: @NAME@
    argocdProject: default
  replicas: 1
  autoscaling:
    enabled: false
    minReplicas: 1
    maxReplicas: 3
    metric: cpu
    target: 70
  resources:
    # Kubernetes quantities: 500m or 2 for cpu, 512Mi or 2Gi for memory.
    requests:
      cpu: 500m
      memory: 512Mi
    limits:
      cpu: "1"
      memory: 1Gi
  # Settings of the container. A secret the model spec requires comes from a key of a
  # Kubernetes Secret through a secretRef; for the model spec's example, replace `[]` with the
  # commented lines below.
  env: []
  # env:
  #   - name: MODEL_API_KEY
  #     secretRef: {name: @NAME@-secrets, key: model-api-key}
  routing:
    exposure: internal
    timeoutSeconds: 30
    auth:
      mode: none
  rollout:
    strategy: RollingUpdate
  # Free-form chart values, deep-merged last; keys lamp renders (image, env, ...) are refused.
  values: {}
"""
