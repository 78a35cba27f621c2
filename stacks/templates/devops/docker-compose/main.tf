# Docker Compose — Coder workspace template for kapstan (Coder on Scaleway Kapsule).
# Container development against a remote Docker engine: docker and compose CLIs, lazydocker, Prometheus and Grafana.
#
# The workspace is one Kubernetes Deployment that runs the Coder agent in
# codercom/enterprise-base:ubuntu (it ships the `coder` user, curl, git and
# sudo). The pod passes Pod Security "restricted": it runs as uid 1000 without
# privilege escalation or capabilities, so every tool below is installed in
# $HOME by the agent's startup script, never with apt.

terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = ">= 2.4.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.32.0"
    }
  }
}

variable "use_kubeconfig" {
  type        = bool
  default     = false
  description = "Use ~/.kube/config instead of the Coder server's in-cluster service account."
}

variable "namespace" {
  type        = string
  default     = "coder"
  description = "Namespace the workspace runs in (the Coder release's workspace namespace)."
}

provider "coder" {}

provider "kubernetes" {
  config_path = var.use_kubeconfig ? "~/.kube/config" : null
}

data "coder_workspace" "me" {}

data "coder_workspace_owner" "me" {}

data "coder_parameter" "cpu" {
  name         = "cpu"
  display_name = "CPU"
  description  = "vCPU cores (the limit; half is requested)."
  type         = "number"
  default      = "4"
  icon         = "/icon/memory.svg"
  mutable      = true
  order        = 1
  validation {
    min = 1
    max = 16
  }
}

data "coder_parameter" "memory" {
  name         = "memory"
  display_name = "Memory (GiB)"
  description  = "Memory limit in GiB (half is requested)."
  type         = "number"
  default      = "8"
  icon         = "/icon/memory.svg"
  mutable      = true
  order        = 2
  validation {
    min = 2
    max = 64
  }
}

data "coder_parameter" "home_disk_size" {
  name         = "home_disk_size"
  display_name = "Home disk (GiB)"
  description  = "Size of the persistent /home/coder volume (Scaleway Block Storage, scw-bssd)."
  type         = "number"
  default      = "50"
  icon         = "/emojis/1f4be.png"
  mutable      = false
  order        = 3
  validation {
    min = 1
    max = 200
  }
}

data "coder_parameter" "docker_version" {
  name         = "docker_version"
  display_name = "Docker CLI version"
  description  = "Static Docker CLI release."
  type         = "string"
  default      = "27.5.1"
  mutable      = true
  order        = 10

  option {
    name  = "27.5.1"
    value = "27.5.1"
  }

  option {
    name  = "28.0.4"
    value = "28.0.4"
  }
}

data "coder_parameter" "compose_version" {
  name         = "compose_version"
  display_name = "Compose version"
  description  = "Docker Compose plugin release."
  type         = "string"
  default      = "2.33.1"
  mutable      = true
  order        = 11

  option {
    name  = "2.33.1"
    value = "2.33.1"
  }

  option {
    name  = "2.32.4"
    value = "2.32.4"
  }
}

data "coder_parameter" "stack_template" {
  name         = "stack_template"
  display_name = "Stack template"
  description  = "Sample compose project."
  type         = "string"
  default      = "web-db"
  mutable      = true
  order        = 12

  option {
    name  = "Web + PostgreSQL"
    value = "web-db"
  }

  option {
    name  = "Web only"
    value = "web"
  }
}

data "coder_parameter" "enable_monitoring" {
  name         = "enable_monitoring"
  display_name = "Monitoring"
  description  = "Run Prometheus and Grafana in the workspace."
  type         = "bool"
  default      = "true"
  mutable      = true
  order        = 13
}

data "coder_parameter" "docker_host" {
  name         = "docker_host"
  display_name = "Docker host"
  description  = "DOCKER_HOST of a remote engine (tcp:// or ssh://). A Pod Security restricted pod cannot run a container engine itself."
  type         = "string"
  default      = ""
  mutable      = true
  order        = 14
}

locals {
  workspace_name = lower("coder-${data.coder_workspace_owner.me.name}-${data.coder_workspace.me.name}")
  # A label value holds at most 63 characters and the names above may each be
  # 32 long, so the instance label uses the workspace id (36) instead.
  instance = "coder-${data.coder_workspace.me.id}"
  labels = {
    "app.kubernetes.io/name"      = "coder-workspace"
    "app.kubernetes.io/instance"  = local.instance
    "app.kubernetes.io/part-of"   = "coder"
    "app.kubernetes.io/component" = "workspace"
    "com.coder.resource"          = "true"
    "com.coder.workspace.id"      = data.coder_workspace.me.id
    "com.coder.workspace.name"    = data.coder_workspace.me.name
    "com.coder.user.id"           = data.coder_workspace_owner.me.id
    "com.coder.user.username"     = data.coder_workspace_owner.me.name
  }
}

resource "coder_agent" "main" {
  os                      = "linux"
  arch                    = "amd64"
  startup_script_behavior = "non-blocking"
  env = {
    GIT_AUTHOR_NAME     = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_AUTHOR_EMAIL    = data.coder_workspace_owner.me.email
    GIT_COMMITTER_NAME  = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_COMMITTER_EMAIL = data.coder_workspace_owner.me.email
    DOCKER_CLI_VERSION  = data.coder_parameter.docker_version.value
    COMPOSE_VERSION     = data.coder_parameter.compose_version.value
    STACK_TEMPLATE      = data.coder_parameter.stack_template.value
    ENABLE_MONITORING   = data.coder_parameter.enable_monitoring.value
    DOCKER_HOST         = data.coder_parameter.docker_host.value
  }
  startup_script = <<-EOT
    set -eu
    mkdir -p "$HOME/.local/bin" "$HOME/projects"
    export PATH="$HOME/.local/bin:$HOME/.local/share/mise/shims:$PATH"
    grep -q 'mise activate' "$HOME/.bashrc" 2>/dev/null || \
      echo 'export PATH="$HOME/.local/bin:$PATH"; eval "$(mise activate bash)"' >> "$HOME/.bashrc"
    # mise installs language runtimes per user, which is all a non-root pod can do.
    command -v mise >/dev/null 2>&1 || curl -fsSL https://mise.run | sh
    command -v code-server >/dev/null 2>&1 || \
      curl -fsSL https://code-server.dev/install.sh | sh -s -- --method=standalone --prefix="$HOME/.local"
    code-server --auth none --port 13337 --disable-telemetry >/tmp/code-server.log 2>&1 &
    if [ ! -x "$HOME/.local/bin/docker" ]; then
      curl -fsSL "https://download.docker.com/linux/static/stable/x86_64/docker-$DOCKER_CLI_VERSION.tgz" | tar -xzf - -C /tmp docker/docker
      mv /tmp/docker/docker "$HOME/.local/bin/docker"
    fi
    mkdir -p "$HOME/.docker/cli-plugins"
    if [ ! -x "$HOME/.docker/cli-plugins/docker-compose" ]; then
      curl -fsSL "https://github.com/docker/compose/releases/download/v$COMPOSE_VERSION/docker-compose-linux-x86_64" -o "$HOME/.docker/cli-plugins/docker-compose"
      chmod +x "$HOME/.docker/cli-plugins/docker-compose"
    fi
    mise use -g lazydocker
    # The pod cannot run an engine, so a remote DOCKER_HOST is the only way to
    # run containers; say at start-up when it does not answer.
    if [ -n "$DOCKER_HOST" ]; then
      "$HOME/.local/bin/docker" version >/tmp/docker-host.log 2>&1 || echo "DOCKER_HOST $DOCKER_HOST does not answer (see /tmp/docker-host.log)" >&2
    else
      echo "no docker_host parameter set: docker and compose have no engine to talk to" >&2
    fi
    if [ ! -d "$HOME/projects/stack" ]; then
      mkdir -p "$HOME/projects/stack"
      if [ "$STACK_TEMPLATE" = "web-db" ]; then
        printf 'services:\n  web:\n    image: nginx:alpine\n    ports: ["8080:80"]\n  db:\n    image: postgres:16-alpine\n    environment:\n      POSTGRES_PASSWORD: dev\n' > "$HOME/projects/stack/compose.yaml"
      else
        printf 'services:\n  web:\n    image: nginx:alpine\n    ports: ["8080:80"]\n' > "$HOME/projects/stack/compose.yaml"
      fi
    fi
    if [ "$ENABLE_MONITORING" = "true" ]; then
      mise use -g aqua:prometheus/prometheus aqua:grafana/grafana
      printf 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ["localhost:9090"]\n' > "$HOME/.prometheus.yml"
      nohup mise exec -- prometheus --config.file="$HOME/.prometheus.yml" --storage.tsdb.path="$HOME/.prometheus-data" --web.listen-address=:9090 >/tmp/prometheus.log 2>&1 &
      nohup mise exec -- grafana server --homepath "$(dirname "$(dirname "$(mise which grafana)")")" cfg:paths.data="$HOME/.grafana" cfg:server.http_port=3000 cfg:auth.anonymous.enabled=true >/tmp/grafana.log 2>&1 &
    fi
  EOT

  metadata {
    display_name = "CPU usage"
    key          = "0_cpu_usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "Memory usage"
    key          = "1_memory_usage"
    script       = "coder stat mem"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "Home disk"
    key          = "2_home_disk"
    script       = "coder stat disk --path /home/coder"
    interval     = 60
    timeout      = 1
  }
}

resource "coder_app" "vscode" {
  agent_id     = coder_agent.main.id
  slug         = "vscode"
  display_name = "VS Code"
  icon         = "/icon/code.svg"
  url          = "http://localhost:13337/?folder=/home/coder/projects"
  subdomain    = false
  share        = "owner"
  order        = 1

  healthcheck {
    url       = "http://localhost:13337/healthz"
    interval  = 5
    threshold = 6
  }
}

resource "coder_app" "lazydocker" {
  agent_id     = coder_agent.main.id
  slug         = "lazydocker"
  display_name = "lazydocker"
  icon         = "/icon/docker.svg"
  command      = "bash -lc lazydocker"
  order        = 2
}

resource "coder_app" "stack_app" {
  agent_id     = coder_agent.main.id
  slug         = "stack-app"
  display_name = "Stack app (remote engine)"
  icon         = "/icon/docker.svg"
  url          = "http://localhost:8080/"
  subdomain    = true
  share        = "owner"
  order        = 3
}

resource "coder_app" "prometheus" {
  agent_id     = coder_agent.main.id
  slug         = "prometheus"
  display_name = "Prometheus"
  icon         = "/icon/prometheus.svg"
  url          = "http://localhost:9090/"
  subdomain    = true
  share        = "owner"
  order        = 4
}

resource "coder_app" "grafana" {
  agent_id     = coder_agent.main.id
  slug         = "grafana"
  display_name = "Grafana"
  icon         = "/icon/grafana.svg"
  url          = "http://localhost:3000/"
  subdomain    = true
  share        = "owner"
  order        = 5
}

resource "kubernetes_persistent_volume_claim_v1" "home" {
  metadata {
    name      = "coder-${data.coder_workspace.me.id}-home"
    namespace = var.namespace
    labels    = merge(local.labels, { "app.kubernetes.io/instance" = "coder-pvc-${data.coder_workspace.me.id}" })
  }
  wait_until_bound = false
  spec {
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = "scw-bssd"
    resources {
      requests = {
        storage = "${data.coder_parameter.home_disk_size.value}Gi"
      }
    }
  }
}

resource "kubernetes_deployment_v1" "main" {
  count            = data.coder_workspace.me.start_count
  depends_on       = [kubernetes_persistent_volume_claim_v1.home]
  wait_for_rollout = false

  metadata {
    name      = local.workspace_name
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    replicas = 1
    strategy {
      type = "Recreate"
    }
    selector {
      match_labels = {
        "app.kubernetes.io/instance" = local.instance
      }
    }

    template {
      metadata {
        labels = local.labels
      }

      spec {
        automount_service_account_token = false

        security_context {
          run_as_non_root = true
          run_as_user     = 1000
          run_as_group    = 1000
          fs_group        = 1000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "dev"
          image             = "codercom/enterprise-base:ubuntu"
          image_pull_policy = "IfNotPresent"
          command           = ["sh", "-c", coder_agent.main.init_script]

          env {
            name  = "CODER_AGENT_TOKEN"
            value = coder_agent.main.token
          }

          security_context {
            run_as_non_root            = true
            run_as_user                = 1000
            allow_privilege_escalation = false
            capabilities {
              drop = ["ALL"]
            }
            seccomp_profile {
              type = "RuntimeDefault"
            }
          }

          resources {
            requests = {
              cpu    = "${data.coder_parameter.cpu.value * 500}m"
              memory = "${data.coder_parameter.memory.value * 512}Mi"
            }
            limits = {
              cpu    = data.coder_parameter.cpu.value
              memory = "${data.coder_parameter.memory.value}Gi"
            }
          }

          volume_mount {
            name       = "home"
            mount_path = "/home/coder"
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "home"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.home.metadata[0].name
          }
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "4Gi"
          }
        }

        affinity {
          pod_anti_affinity {
            preferred_during_scheduling_ignored_during_execution {
              weight = 1
              pod_affinity_term {
                topology_key = "kubernetes.io/hostname"
                label_selector {
                  match_expressions {
                    key      = "app.kubernetes.io/name"
                    operator = "In"
                    values   = ["coder-workspace"]
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
