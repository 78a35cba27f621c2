# Go Fiber — Coder workspace template for kapstan (Coder on Scaleway Kapsule).
# Go HTTP APIs with the Fiber framework, VS Code or GoLand.
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

# Git authentication through Coder's external auth provider "github" (kapstan's
# `[[external_auth]] id = "github"` in environments/<env>.toml). Coder asks the user to connect
# GitHub when the workspace is created; in the workspace, git reaches GitHub with that token
# through the agent's GIT_ASKPASS helper. Optional, so the template still builds where no
# provider is configured (then private repositories cannot be cloned).
data "coder_external_auth" "github" {
  id       = "github"
  optional = true
}

data "coder_parameter" "repo_url" {
  name         = "repo_url"
  display_name = "Repository"
  description  = "Git repository cloned into ~/projects at the first start (empty: none). Private GitHub repositories use your connected GitHub account."
  type         = "string"
  default      = ""
  icon         = "/icon/git.svg"
  mutable      = true
  order        = 12
}

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
  default      = "10"
  icon         = "/emojis/1f4be.png"
  mutable      = false
  order        = 3
  validation {
    min = 1
    max = 200
  }
}

data "coder_parameter" "go_version" {
  name         = "go_version"
  display_name = "Go version"
  description  = "Go toolchain installed with mise."
  type         = "string"
  default      = "1.24"
  mutable      = true
  order        = 10

  option {
    name  = "1.24"
    value = "1.24"
  }

  option {
    name  = "1.23"
    value = "1.23"
  }
}

data "coder_parameter" "ide" {
  name         = "ide"
  display_name = "IDE"
  description  = "Editor to set up: VS Code in the browser, or a JetBrains IDE through JetBrains Gateway."
  type         = "string"
  default      = "vscode"
  icon         = "/icon/code.svg"
  mutable      = true
  order        = 11

  option {
    name  = "VS Code (browser)"
    value = "vscode"
  }

  option {
    name  = "GoLand (JetBrains Gateway)"
    value = "goland"
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
    GO_VERSION          = data.coder_parameter.go_version.value
    REPO_URL            = data.coder_parameter.repo_url.value
    GITHUB_TOKEN        = data.coder_external_auth.github.access_token
  }
  startup_script = <<-EOT
    set -eu
    mkdir -p "$HOME/.local/bin" "$HOME/projects"
    if [ -n "$REPO_URL" ]; then
      target="$HOME/projects/$(basename "$REPO_URL" .git)"
      [ -d "$target/.git" ] || git clone "$REPO_URL" "$target" || \
        echo "could not clone $REPO_URL: connect GitHub in Coder (external auth \"github\") for a private repository" >&2
    fi
    export PATH="$HOME/.local/bin:$HOME/.local/share/mise/shims:$PATH"
    grep -q 'mise activate' "$HOME/.bashrc" 2>/dev/null || \
      echo 'export PATH="$HOME/.local/bin:$PATH"; eval "$(mise activate bash)"' >> "$HOME/.bashrc"
    # mise installs language runtimes per user, which is all a non-root pod can do.
    command -v mise >/dev/null 2>&1 || curl -fsSL https://mise.run | sh
    command -v code-server >/dev/null 2>&1 || \
      curl -fsSL https://code-server.dev/install.sh | sh -s -- --method=standalone --prefix="$HOME/.local"
    code-server --auth none --port 13337 --disable-telemetry >/tmp/code-server.log 2>&1 &
    mise use -g "go@$GO_VERSION"
    if [ ! -d "$HOME/projects/api" ]; then
      mkdir -p "$HOME/projects/api" && cd "$HOME/projects/api"
      mise exec -- go mod init example.com/api
      printf 'package main\n\nimport "github.com/gofiber/fiber/v2"\n\nfunc main() {\n\tapp := fiber.New()\n\tapp.Get("/", func(c *fiber.Ctx) error { return c.SendString("hello from Fiber") })\n\tapp.Listen(":3000")\n}\n' > main.go
      mise exec -- go mod tidy
    fi
    (cd "$HOME/projects/api" && nohup mise exec -- go run . >/tmp/fiber.log 2>&1 &)
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

resource "coder_app" "fiber_api" {
  agent_id     = coder_agent.main.id
  slug         = "fiber-api"
  display_name = "Fiber API"
  icon         = "/icon/go.svg"
  url          = "http://localhost:3000/"
  subdomain    = true
  share        = "owner"
  order        = 2
}

resource "coder_app" "goland" {
  count        = data.coder_parameter.ide.value == "goland" ? 1 : 0
  agent_id     = coder_agent.main.id
  slug         = "goland"
  display_name = "GoLand"
  icon         = "/icon/goland.svg"
  external     = true
  url          = "jetbrains-gateway://connect#type=coder&workspace=${data.coder_workspace.me.name}&owner=${data.coder_workspace_owner.me.name}&agent=main&folder=/home/coder/projects&url=${data.coder_workspace.me.access_url}&token=$SESSION_TOKEN&ide_product_code=GO"
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
