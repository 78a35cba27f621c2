# React + TypeScript — Coder workspace template for kapstan (Coder on Scaleway Kapsule).
# React and TypeScript applications with Vite or Next.js and Storybook.
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

data "coder_parameter" "framework_template" {
  name         = "framework_template"
  display_name = "Framework"
  description  = "Project generator."
  type         = "string"
  default      = "vite"
  mutable      = true
  order        = 11

  option {
    name  = "Vite"
    value = "vite"
  }

  option {
    name  = "Next.js"
    value = "nextjs"
  }
}

data "coder_parameter" "ui_library" {
  name         = "ui_library"
  display_name = "UI library"
  description  = "Component library added to the sample app."
  type         = "string"
  default      = "none"
  mutable      = true
  order        = 12

  option {
    name  = "none"
    value = "none"
  }

  option {
    name  = "mui"
    value = "mui"
  }

  option {
    name  = "chakra"
    value = "chakra"
  }

  option {
    name  = "tailwind"
    value = "tailwind"
  }
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
    FRAMEWORK_TEMPLATE  = data.coder_parameter.framework_template.value
    UI_LIBRARY          = data.coder_parameter.ui_library.value
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
      if [ "$FRAMEWORK_TEMPLATE" = "nextjs" ]; then
        mise exec -- npx -y create-next-app@latest app --ts --eslint --app --use-npm --yes
      else
        mise exec -- npm create -y vite@latest app -- --template react-ts
      fi
      cd app && mise exec -- npm install
      case "$UI_LIBRARY" in
        mui) mise exec -- npm install @mui/material @emotion/react @emotion/styled ;;
        chakra) mise exec -- npm install @chakra-ui/react ;;
        tailwind) mise exec -- npm install -D tailwindcss @tailwindcss/vite ;;
      esac
      mise exec -- npx -y storybook@latest init --yes --no-dev
      cd ..
    fi
    if [ "$FRAMEWORK_TEMPLATE" = "nextjs" ]; then
      (cd app && nohup mise exec -- npx next dev -H 0.0.0.0 -p 5173 >/tmp/react.log 2>&1 &)
    else
      (cd app && nohup mise exec -- npx vite --host 0.0.0.0 --port 5173 >/tmp/react.log 2>&1 &)
    fi
    (cd app && nohup mise exec -- npx storybook dev -p 6006 --no-open >/tmp/storybook.log 2>&1 &)
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

resource "coder_app" "react_dev" {
  agent_id     = coder_agent.main.id
  slug         = "react-dev"
  display_name = "React dev server"
  icon         = "/icon/react.svg"
  url          = "http://localhost:5173/"
  subdomain    = true
  share        = "owner"
  order        = 2
}

resource "coder_app" "storybook" {
  agent_id     = coder_agent.main.id
  slug         = "storybook"
  display_name = "Storybook"
  icon         = "/icon/storybook.svg"
  url          = "http://localhost:6006/"
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
