# SvelteKit — Coder workspace template for kapstan (Coder on Scaleway Kapsule).
# SvelteKit applications with a choice of UI framework and adapter.
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
  default      = "2"
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
  default      = "4"
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
  default      = "15"
  icon         = "/emojis/1f4be.png"
  mutable      = false
  order        = 3
  validation {
    min = 1
    max = 200
  }
}

data "coder_parameter" "node_version" {
  name         = "node_version"
  display_name = "Node.js version"
  description  = "Node.js installed with mise."
  type         = "string"
  default      = "22"
  mutable      = true
  order        = 10

  option {
    name  = "20"
    value = "20"
  }

  option {
    name  = "22"
    value = "22"
  }

  option {
    name  = "24"
    value = "24"
  }
}

data "coder_parameter" "ui_framework" {
  name         = "ui_framework"
  display_name = "UI framework"
  description  = "Styling added to the sample app."
  type         = "string"
  default      = "tailwindcss"
  mutable      = true
  order        = 11

  option {
    name  = "tailwindcss"
    value = "tailwindcss"
  }

  option {
    name  = "none"
    value = "none"
  }
}

data "coder_parameter" "adapter" {
  name         = "adapter"
  display_name = "Adapter"
  description  = "SvelteKit deployment adapter."
  type         = "string"
  default      = "node"
  mutable      = true
  order        = 12

  option {
    name  = "auto"
    value = "auto"
  }

  option {
    name  = "node"
    value = "node"
  }

  option {
    name  = "static"
    value = "static"
  }
}

data "coder_parameter" "enable_pwa" {
  name         = "enable_pwa"
  display_name = "PWA"
  description  = "Add a service worker to the sample app."
  type         = "bool"
  default      = "false"
  mutable      = true
  order        = 13
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
    NODE_VERSION        = data.coder_parameter.node_version.value
    UI_FRAMEWORK        = data.coder_parameter.ui_framework.value
    SVELTE_ADAPTER      = data.coder_parameter.adapter.value
    ENABLE_PWA          = data.coder_parameter.enable_pwa.value
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
    mise use -g "node@$NODE_VERSION"
    cd "$HOME/projects"
    if [ ! -d app ]; then
      ADDONS="sveltekit-adapter=adapter:$SVELTE_ADAPTER"
      if [ "$UI_FRAMEWORK" = "tailwindcss" ]; then ADDONS="$ADDONS tailwindcss"; fi
      mise exec -- npx -y sv create app --template minimal --types ts --no-install --add $ADDONS
      if [ "$ENABLE_PWA" = "true" ]; then (cd app && mise exec -- npm install -D @vite-pwa/sveltekit); fi
      (cd app && mise exec -- npm install)
    fi
    (cd app && nohup mise exec -- npx vite dev --host 0.0.0.0 --port 5173 >/tmp/sveltekit.log 2>&1 &)
    (cd app && mise exec -- npx vite build >/tmp/sveltekit-build.log 2>&1 && nohup mise exec -- npx vite preview --host 0.0.0.0 --port 4173 >/tmp/preview.log 2>&1 &) || true
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

resource "coder_app" "sveltekit_dev" {
  agent_id     = coder_agent.main.id
  slug         = "sveltekit-dev"
  display_name = "SvelteKit dev server"
  icon         = "/icon/svelte.svg"
  url          = "http://localhost:5173/"
  subdomain    = true
  share        = "owner"
  order        = 2
}

resource "coder_app" "preview" {
  agent_id     = coder_agent.main.id
  slug         = "preview"
  display_name = "Production preview"
  icon         = "/icon/svelte.svg"
  url          = "http://localhost:4173/"
  subdomain    = true
  share        = "owner"
  order        = 3
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
